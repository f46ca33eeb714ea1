"""Settings come from KOPEK_* environment variables, overridden by CLI flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from kopek.providers.sandbox.faults import FaultSettings
from kopek.client_address import parse_networks

MODES = ("sandbox", "live")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    db_path: Path = Path("kopek.db")
    # The URL shops and shoppers reach Kopek at; empty means http://host:port.
    public_url: str = ""
    mode: str = "sandbox"
    # Sandbox providers' delays are multiplied by this (0.01 makes a minute 0.6 s).
    sandbox_time_scale: float = 1.0
    # Fault injection for the simulators, e.g. "latency_ms=5-50,error_rate=0.1" (see providers/sandbox/faults.py).
    sandbox_faults: str = ""
    # Sandbox console: test payments its "Start a test payment" form may make per client address
    # in a sliding window (viewing the console makes none).
    sandbox_payments_per_window: int = 30
    sandbox_payments_window_s: float = 10 * 60
    max_body_bytes: int = 64 * 1024
    payment_ttl_s: int = 30 * 60
    max_attempts_per_payment: int = 5
    max_code_tries: int = 3
    expiry_sweep_interval_s: float = 1.0
    ws_heartbeat_s: float = 20.0
    ws_queue_max: int = 100
    # Live status sockets open at once: per payment, per client address, and in all (over: close 1013).
    ws_per_payment_max: int = 10
    ws_per_ip_max: int = 50
    ws_total_max: int = 10_000
    # Provider callbacks accepted per second from one address (a real provider stays far below).
    callbacks_per_source_per_s: int = 200
    provider_timeout_s: float = 10.0
    code_resend_cooldown_s: float = 30.0
    check_timeout_s: float = 3.0      # the shop's pre-check answers within this, or its default decides
    breaker_failures: int = 5
    breaker_open_s: float = 30.0
    reconcile_interval_s: float = 1.0
    # An attempt the provider keeps "processing" this long is given up (the shopper may try again).
    max_processing_s: float = 30 * 60
    idempotency_ttl_s: float = 24 * 3600  # how long an Idempotency-Key is kept
    idempotency_wait_s: float = 30.0      # how long a request waits for another with its key, then 409
    # Webhooks: one attempt's limit, and a factor on the retry schedule (tests compress it).
    webhook_timeout_s: float = 15.0
    webhook_retry_scale: float = 1.0
    # Payment buttons: presses (each creates a payment) allowed per minute, per shopper IP and per button.
    button_checkouts_per_ip_per_min: int = 20
    button_checkouts_per_button_per_min: int = 60
    # Wallet providers settle with Kopek (money becomes available) this often; the sandbox time
    # scale compresses it like the providers' other delays.
    provider_settlement_interval_s: float = 86400.0
    # Dashboard: a session lasts this long from login; failed logins allowed per email and per IP
    # in a window before further tries are refused.
    session_ttl_s: int = 12 * 3600
    login_failures_per_email: int = 5
    login_failures_per_ip: int = 30
    login_failure_window_s: float = 15 * 60
    # Live mode refuses to start on a public URL that is not https (loopback aside): the session
    # cookie is always Secure, so a browser would never send it back. True starts anyway, warning.
    allow_insecure_public_url: bool = False
    # Sign-up of new shops: always open in sandbox; on live servers off unless this is True (the
    # operator creates the first user with `kopek user create`, owners invite the others).
    open_signup: bool = False
    # Sign-ups (new shops and invitations alike) allowed per client address per hour.
    signups_per_ip_per_hour: int = 5
    # Across payments, per wallet account and per shopper IP: wrong codes and PINs allowed in the
    # window before further tries are refused (429) until it passes, and codes texted in theirs.
    wrong_codes_per_account: int = 10
    wrong_codes_per_ip: int = 30
    wrong_code_window_s: float = 3600.0
    codes_sent_per_account: int = 5
    codes_sent_per_ip: int = 30
    codes_sent_window_s: float = 3600.0
    # Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For names the
    # client; empty means the peer is the client. Every per-address limit depends on it.
    trusted_proxies: str = ""
    provider_urls: Mapping[str, str] = field(default_factory=dict)
    # The instance master key (hex or base64, >= 32 bytes), kept outside the database; empty means
    # the key file (default: beside the database, `<db>.key`, created 0600 at first start).
    secret_key: str = field(default="", repr=False)
    secret_key_file: Path | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        if self.sandbox_time_scale <= 0:
            raise ValueError("the sandbox time scale must be above 0")
        FaultSettings.parse(self.sandbox_faults)  # a typo fails at start, with the reason
        if self.sandbox_payments_per_window <= 0 or self.sandbox_payments_window_s <= 0:
            raise ValueError("the sandbox console's payment limit and window must be above 0")
        if self.webhook_timeout_s <= 0 or self.webhook_retry_scale <= 0:
            raise ValueError("the webhook timeout and retry scale must be above 0")
        if self.idempotency_ttl_s <= 0 or self.idempotency_wait_s < 0:
            raise ValueError("the idempotency TTL must be above 0 and the wait at least 0")
        if self.provider_settlement_interval_s <= 0:
            raise ValueError("the provider settlement interval must be above 0")
        if self.session_ttl_s <= 0 or self.login_failures_per_email <= 0 or self.login_failure_window_s <= 0:
            raise ValueError("the session TTL, login failure limit and window must be above 0")
        if min(self.wrong_codes_per_account, self.wrong_codes_per_ip, self.wrong_code_window_s,
               self.codes_sent_per_account, self.codes_sent_per_ip, self.codes_sent_window_s) <= 0:
            raise ValueError("the code and PIN limits and their windows must be above 0")
        parse_networks(self.trusted_proxies)

    @property
    def public_base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    @property
    def signup_open(self) -> bool:
        """Whether anyone may create a new shop (joining one by invitation is always possible)."""
        return self.sandbox or self.open_signup

    @property
    def public_url_is_insecure(self) -> bool:
        """Plain http on a host other than this machine's loopback."""
        parts = urlsplit(self.public_base_url)
        return parts.scheme != "https" and (parts.hostname or "") not in LOOPBACK_HOSTS

    @property
    def sandbox(self) -> bool:
        return self.mode == "sandbox"

    @property
    def provider_time_scale(self) -> float:
        """Sandbox providers run faster or slower by the time scale; Kopek's expectations follow."""
        return self.sandbox_time_scale if self.sandbox else 1.0

    def provider_url(self, wallet: str) -> str:
        """Where a connector sends its requests: the built-in simulator in sandbox mode."""
        if wallet in self.provider_urls:
            return self.provider_urls[wallet].rstrip("/")
        if self.sandbox:
            return f"{self.public_base_url}/sandbox/providers/{wallet}"
        raise ValueError(f"no provider URL configured for {wallet} (KOPEK_PROVIDER_URL_{wallet.upper()})")

    def with_overrides(self, **overrides: object) -> Settings:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    kwargs: dict[str, object] = {}
    casts = {
        "HOST": ("host", str),
        "PORT": ("port", int),
        "DB_PATH": ("db_path", Path),
        "PUBLIC_BASE_URL": ("public_url", str),
        "MODE": ("mode", str),
        "SANDBOX_TIME_SCALE": ("sandbox_time_scale", float),
        "PAYMENT_TTL_S": ("payment_ttl_s", int),
        "SANDBOX_FAULTS": ("sandbox_faults", str),
        "SANDBOX_PAYMENTS_PER_WINDOW": ("sandbox_payments_per_window", int),
        "SANDBOX_PAYMENTS_WINDOW_S": ("sandbox_payments_window_s", float),
        "PROVIDER_TIMEOUT_S": ("provider_timeout_s", float),
        "CODE_RESEND_COOLDOWN_S": ("code_resend_cooldown_s", float),
        "CHECK_TIMEOUT_S": ("check_timeout_s", float),
        "MAX_PROCESSING_S": ("max_processing_s", float),
        "WEBHOOK_TIMEOUT_S": ("webhook_timeout_s", float),
        "WEBHOOK_RETRY_SCALE": ("webhook_retry_scale", float),
        "IDEMPOTENCY_TTL_S": ("idempotency_ttl_s", float),
        "IDEMPOTENCY_WAIT_S": ("idempotency_wait_s", float),
        "BUTTON_CHECKOUTS_PER_IP_PER_MIN": ("button_checkouts_per_ip_per_min", int),
        "BUTTON_CHECKOUTS_PER_BUTTON_PER_MIN": ("button_checkouts_per_button_per_min", int),
        "PROVIDER_SETTLEMENT_INTERVAL_S": ("provider_settlement_interval_s", float),
        "SESSION_TTL_S": ("session_ttl_s", int),
        "WS_PER_PAYMENT_MAX": ("ws_per_payment_max", int),
        "WS_PER_IP_MAX": ("ws_per_ip_max", int),
        "WS_TOTAL_MAX": ("ws_total_max", int),
        "CALLBACKS_PER_SOURCE_PER_S": ("callbacks_per_source_per_s", int),
        "LOGIN_FAILURES_PER_EMAIL": ("login_failures_per_email", int),
        "LOGIN_FAILURES_PER_IP": ("login_failures_per_ip", int),
        "LOGIN_FAILURE_WINDOW_S": ("login_failure_window_s", float),
        "ALLOW_INSECURE_PUBLIC_URL": ("allow_insecure_public_url", _flag),
        "OPEN_SIGNUP": ("open_signup", _flag),
        "SIGNUPS_PER_IP_PER_HOUR": ("signups_per_ip_per_hour", int),
        "WRONG_CODES_PER_ACCOUNT": ("wrong_codes_per_account", int),
        "WRONG_CODES_PER_IP": ("wrong_codes_per_ip", int),
        "WRONG_CODE_WINDOW_S": ("wrong_code_window_s", float),
        "CODES_SENT_PER_ACCOUNT": ("codes_sent_per_account", int),
        "CODES_SENT_PER_IP": ("codes_sent_per_ip", int),
        "CODES_SENT_WINDOW_S": ("codes_sent_window_s", float),
        "TRUSTED_PROXIES": ("trusted_proxies", str),
        "SECRET_KEY": ("secret_key", str),
        "SECRET_KEY_FILE": ("secret_key_file", Path),
    }
    for suffix, (name, cast) in casts.items():
        value = env.get(f"KOPEK_{suffix}")
        if value:
            kwargs[name] = cast(value)
    prefix = "KOPEK_PROVIDER_URL_"
    urls = {k[len(prefix):].lower(): v for k, v in env.items() if k.startswith(prefix) and v}
    if urls:
        kwargs["provider_urls"] = urls
    return Settings(**kwargs)  # type: ignore[arg-type]
