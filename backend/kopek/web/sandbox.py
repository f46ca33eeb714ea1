"""The sandbox's HTTP surface: the developer console and the sandbox phone. They live in the
kopek.web.sandbox_console package; this module keeps the names the app and `kopek simulators` use."""

from __future__ import annotations

from kopek.web.sandbox_console import routes, setup
from kopek.web.sandbox_console.live import phone_json

__all__ = ["phone_json", "routes", "setup"]
