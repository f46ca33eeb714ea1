"""One documented API operation, for web/openapi.py. Each area lists its own operations beside its schemas."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The statuses every secret-key operation can answer with besides its success: bad input, a missing or
# wrong key, an unknown id, too many requests.
API_ERRORS = (400, 401, 404, 429)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    request_schema: Any
    status: int
    response_schema: Any
    security: str | None = "secretKey"  # a components.securitySchemes name; None for a public route
    content_type: str = "application/json"  # of the success response
    request_content_type: str = "application/json"
    errors: tuple[int, ...] = API_ERRORS
    error_content_type: str = "application/json"  # text/html: an error page, not the Error envelope
