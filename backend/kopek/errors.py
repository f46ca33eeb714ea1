"""One exception tree. Each error knows its HTTP status and machine-readable code."""

from __future__ import annotations

from typing import Any


class KopekError(Exception):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code:
            self.code = code
        self.extra = extra or {}

    def to_dict(self, request_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "code": self.code, "message": self.message}
        if self.param:
            body["param"] = self.param
        body.update(self.extra)
        body["request_id"] = request_id
        return {"error": body}


class InvalidRequest(KopekError):
    code = "parameter_invalid"


class ValidationFailed(InvalidRequest):
    """Schema validation failed; `fields` maps each bad field to its messages."""

    def __init__(self, fields: dict[str, Any]) -> None:
        first = next(iter(fields), None)
        detail = _first_message(fields[first]) if first else "invalid input"
        super().__init__(f"{first}: {detail}" if first else detail, param=first,
                         extra={"fields": fields})


def _first_message(value: Any) -> str:
    while isinstance(value, (list, dict)) and value:
        value = value[0] if isinstance(value, list) else next(iter(value.values()))
    return str(value)


class AuthenticationFailed(KopekError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(KopekError):
    status = 403
    type = "invalid_request_error"
    code = "forbidden"


class NotFound(KopekError):
    status = 404
    code = "resource_missing"


class Conflict(KopekError):
    status = 409
    code = "conflict"


class InvalidState(Conflict):
    code = "invalid_state"

    def __init__(self, status: str, action: str) -> None:
        super().__init__(f"cannot {action} a payment whose status is {status}",
                         extra={"status": status})


class PayloadTooLarge(KopekError):
    status = 413
    code = "payload_too_large"


class RateLimited(KopekError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limited"


class ProviderUnavailable(KopekError):
    """The wallet provider could not be reached or answered nonsense."""

    status = 502
    type = "api_error"
    code = "provider_unavailable"


class WalletUnavailable(KopekError):
    """The wallet's provider keeps failing; it is paused for a while (circuit breaker)."""

    status = 503
    type = "api_error"
    code = "wallet_unavailable"

    def __init__(self, wallet_id: str) -> None:
        super().__init__(f"{wallet_id} is temporarily unavailable; choose another wallet",
                         param="wallet", extra={"wallet": wallet_id})
