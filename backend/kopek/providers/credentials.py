"""Where a connector's credentials come from: in sandbox mode the fixed keys its simulator
knows, in live mode the wallet's KOPEK_<WALLET>_* environment variables.

A wallet's credentials class is a frozen dataclass over its protocol's credentials (whose
secret fields say `repr=False`) with `EnvCredentials` mixed in; it names its variables'
prefix, its display name and its sandbox keys, and reads the variables in `from_env`.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any, ClassVar, Mapping, Self

from kopek.settings import Settings


class LiveEnv:
    """One wallet's KOPEK_<WALLET>_* variables; values are stripped, and a missing one is named."""

    def __init__(self, prefix: str, wallet: str, env: Mapping[str, str]) -> None:
        self.prefix = prefix      # "KOPEK_WEBMONEY_"
        self.wallet = wallet      # "WebMoney", for messages
        self._env = env

    def name(self, suffix: str) -> str:
        return self.prefix + suffix

    def optional(self, suffix: str) -> str:
        return self._env.get(self.name(suffix), "").strip()

    def required(self, suffix: str, *, pattern: re.Pattern[str] | None = None, rule: str = "") -> str:
        """The variable's value; missing or blank, or not matching `pattern` ("must be <rule>"), raises ValueError."""
        value = self.optional(suffix)
        if not value:
            raise ValueError(f"live mode needs {self.name(suffix)} for {self.wallet}")
        if pattern is not None and not pattern.fullmatch(value):
            raise ValueError(f"{self.name(suffix)} must be {rule}")
        return value


class EnvCredentials:
    """`from_settings` for a wallet's credentials dataclass (see the module docstring)."""

    env_prefix: ClassVar[str]
    wallet_name: ClassVar[str]
    sandbox_credentials: ClassVar[Any]   # the protocol's SANDBOX_CREDENTIALS

    @classmethod
    def from_settings(cls, settings: Settings, env: Mapping[str, str] | None = None) -> Self:
        """Sandbox: the fixed keys the simulator knows. Live: the KOPEK_<WALLET>_* variables
        (of `env`, by default the process environment); ValueError names what is missing or wrong."""
        if settings.sandbox:
            sandbox = cls.sandbox_credentials
            return cls(**{f.name: getattr(sandbox, f.name) for f in dataclasses.fields(sandbox)})
        return cls.from_env(LiveEnv(cls.env_prefix, cls.wallet_name, os.environ if env is None else env))

    @classmethod
    def from_env(cls, env: LiveEnv) -> Self:
        raise NotImplementedError
