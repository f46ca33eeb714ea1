"""kopek user create: the operator adds a dashboard user to a merchant; the password is printed once."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kopek.accounts.service import ROLES, AccountError, Accounts, LoginThrottle
from kopek.ids import random_token
from kopek.limits import Limits
from kopek.settings import Settings
from kopek.store.sqlite import SqliteStore

SANDBOX_USER_EMAIL = "sandbox@kopek.test"


def add_commands(commands: Any) -> None:
    user = commands.add_parser("user", help="manage dashboard users").add_subparsers(dest="action", required=True)
    create = user.add_parser("create", help="add a dashboard user to a merchant and print a password once")
    create.add_argument("--merchant", required=True, metavar="MERCHANT_ID")
    create.add_argument("--email", required=True)
    create.add_argument("--role", choices=ROLES, default="owner")


def accounts_for(store: SqliteStore, settings: Settings) -> Accounts:
    return Accounts(store, LoginThrottle(Limits(), settings.login_failures_per_email,
                                         settings.login_failures_per_ip, settings.login_failure_window_s))


async def create_user(store: SqliteStore, settings: Settings, args: argparse.Namespace) -> int:
    if await store.get_merchant(args.merchant) is None:
        print(f"kopek: no merchant {args.merchant}", file=sys.stderr)
        return 2
    password = random_token(20)
    try:
        await accounts_for(store, settings).add_member(args.merchant, args.email.strip().lower(), args.role, password)
    except AccountError as exc:
        print(f"kopek: {exc.message_en}", file=sys.stderr)
        return 2
    print(f"Dashboard user {args.email} ({args.role}) of {args.merchant}; password (shown once): {password}")
    return 0


async def create_sandbox_user(store: SqliteStore, settings: Settings, merchant_id: str) -> str:
    """The sandbox merchant's dashboard owner, so a developer can log in right after the first start."""
    password = random_token(20)
    await accounts_for(store, settings).add_member(merchant_id, SANDBOX_USER_EMAIL, "owner", password)
    return password
