"""kopek serve | migrate | merchant create | merchant list | user create | webhook | button | settle | ledger | reconcile"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any, Awaitable, Callable

from aiohttp import web

from kopek import buttons_cli
from kopek.accounts import cli as accounts_cli
from kopek.ledger import cli as ledger_cli
from kopek.reconcile import cli as reconcile_cli
from kopek.app import create_app
from kopek.keyring import Keyring, KeyringError
from kopek.master_key import DEFAULT_GRACE_HOURS, key_file_path, open_keyring, rotate_key_file
from kopek.merchants import InvalidOrigin, NewMerchant, create_merchant, ensure_sandbox_merchant
from kopek.providers.sandbox.server import create_simulators_app
from kopek.settings import MODES, Settings, settings_from_env
from kopek.store.sqlite import SqliteStore
from kopek.webhooks import cli as webhook_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kopek", description="Kopek: e-wallet micropayments checkout")
    parser.add_argument("--db", dest="db_path", type=Path, help="SQLite file (KOPEK_DB_PATH, default kopek.db)")
    parser.add_argument("--mode", choices=MODES, help="sandbox or live (KOPEK_MODE, default sandbox)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="bind address (KOPEK_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (KOPEK_PORT, default 8080)")
    serve.add_argument("--public-base-url", help="the URL shops and shoppers reach (KOPEK_PUBLIC_BASE_URL)")
    serve.add_argument("--sandbox-time-scale", type=float,
                       help="multiply sandbox providers' delays (KOPEK_SANDBOX_TIME_SCALE, default 1)")
    serve.add_argument("--allow-insecure-public-url", action="store_true", default=None,
                       help="live mode: start even on a plain-http public URL (KOPEK_ALLOW_INSECURE_PUBLIC_URL=1)")

    commands.add_parser("migrate", help="apply database migrations")
    key_commands = commands.add_parser("keys", help="the instance master key").add_subparsers(
        dest="keys_action", required=True)
    rotate = key_commands.add_parser("rotate", help="make a new master key; the old one verifies during the grace")
    rotate.add_argument("--grace-hours", type=float, default=DEFAULT_GRACE_HOURS,
                        help=f"how long secrets made with the old key stay valid (default {DEFAULT_GRACE_HOURS:g})")

    simulators = commands.add_parser("simulators", help="run the sandbox wallet providers as a server of their own")
    simulators.add_argument("--host", help="bind address (default 127.0.0.1)")
    simulators.add_argument("--port", type=int, help="port (default 8080)")
    simulators.add_argument("--sandbox-time-scale", type=float, help="multiply the providers' delays")

    merchant = commands.add_parser("merchant", help="manage merchants").add_subparsers(dest="action", required=True)
    create = merchant.add_parser("create", help="create a merchant and print its keys once")
    create.add_argument("--name", required=True)
    create.add_argument("--origin", action="append", default=[], metavar="URL",
                        help="an origin allowed to embed the widget (repeatable)")
    create.add_argument("--json", action="store_true", help="print one JSON object")
    listing = merchant.add_parser("list", help="list merchants")
    listing.add_argument("--json", action="store_true")
    webhook_cli.add_commands(commands)
    buttons_cli.add_commands(commands)
    ledger_cli.add_commands(commands, merchant)
    reconcile_cli.add_command(commands)
    accounts_cli.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = settings_from_env().with_overrides(
            db_path=args.db_path, mode=args.mode, host=getattr(args, "host", None),
            port=getattr(args, "port", None), sandbox_time_scale=getattr(args, "sandbox_time_scale", None),
            public_url=getattr(args, "public_base_url", None),
            allow_insecure_public_url=getattr(args, "allow_insecure_public_url", None))
    except ValueError as exc:
        print(f"kopek: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        return serve(settings)
    if args.command == "simulators":
        return serve_simulators(settings)
    if args.command == "keys":
        return asyncio.run(_with_keyring(settings, lambda store, keyring: _rotate_key(settings, keyring, args)))
    if args.command == "migrate":
        return asyncio.run(_with_store(settings, _migrate))
    if args.command == "webhook":
        return asyncio.run(_with_keyring(settings, lambda store, keyring: webhook_cli.run(store, keyring, settings,
                                                                                            args)))
    if args.command == "button":
        return asyncio.run(_with_store(settings, lambda store: buttons_cli.run(store, settings, args)))
    if args.command == "reconcile":
        return asyncio.run(_with_store(settings, lambda store: reconcile_cli.run(store, settings, args)))
    if args.command == "user":
        return asyncio.run(_with_store(settings, lambda store: accounts_cli.create_user(store, settings, args)))
    if ledger_cli.handles(args):
        return asyncio.run(_with_store(settings, lambda store: ledger_cli.run(store, settings, args)))
    if args.action == "create":
        return asyncio.run(_with_store(settings, lambda store: _create_merchant(store, args)))
    return asyncio.run(_with_store(settings, lambda store: _list_merchants(store, args.json)))


async def _with_store(settings: Settings, job: Callable[[SqliteStore], Awaitable[int]]) -> int:
    return await _with_keyring(settings, lambda store, keyring: job(store))


async def _with_keyring(settings: Settings, job: Callable[[SqliteStore, Keyring], Awaitable[int]]) -> int:
    """Every command opens the keyring first: a database with data but no key is refused before
    anything writes to it, and the first data written has its key file beside it."""
    store = SqliteStore(settings.db_path)
    await store.open()
    try:
        keyring = await open_keyring(settings, store)
    except KeyringError as exc:
        await store.close()
        print(f"kopek: {exc}", file=sys.stderr)
        return 2
    try:
        return await job(store, keyring)
    finally:
        await store.close()


async def _migrate(store: SqliteStore) -> int:
    print(f"database {store.path} is up to date")
    return 0


async def _rotate_key(settings: Settings, keyring: Keyring, args: argparse.Namespace) -> int:
    try:
        rotated = rotate_key_file(settings, keyring, args.grace_hours * 3600)
    except KeyringError as exc:
        print(f"kopek: {exc}", file=sys.stderr)
        return 2
    assert rotated.previous is not None
    print(f"New master key in {key_file_path(settings)}; the old one verifies until {rotated.previous.expires_at}.")
    print("Restart every Kopek instance now. Before the grace ends: roll each webhook endpoint's secret "
          "(dashboard or POST /v1/webhook_endpoints/{id}/rotate_secret) and give shops their new check secret "
          "(dashboard, Settings). Client secrets and dashboard forms need nothing.")
    return 0


async def _create_merchant(store: SqliteStore, args: argparse.Namespace) -> int:
    try:
        created = await create_merchant(store, args.name, args.origin)
    except InvalidOrigin as exc:
        print(f"kopek: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(created.to_json()))
    else:
        _print_keys(created)
    return 0


async def _list_merchants(store: SqliteStore, as_json: bool) -> int:
    merchants = await store.list_merchants()
    if as_json:
        print(json.dumps([{"id": m.id, "name": m.name, "origins": list(m.origins), "created_at": m.created_at}
                          for m in merchants]))
        return 0
    for m in merchants:
        print(f"{m.id}  {m.name}  origins: {', '.join(m.origins) or '-'}  created {m.created_at}")
    return 0


def _print_keys(created: NewMerchant) -> None:
    data: dict[str, Any] = created.to_json()
    print(f"Merchant {data['id']} ({data['name']}), allowed origins: {', '.join(data['origins']) or '-'}")
    print("Keys (shown once, store them now):")
    for name in ("publishable_key", "secret_key", "live_publishable_key", "live_secret_key"):
        print(f"  {name:22} {data[name]}")


INSECURE_PUBLIC_URL = ("the public URL {url} is not https: browsers would send dashboard passwords and sessions "
                       "in the clear, and would not return the Secure session cookie")


def serve(settings: Settings) -> int:
    if not settings.sandbox and settings.public_url_is_insecure:
        problem = INSECURE_PUBLIC_URL.format(url=settings.public_base_url)
        if not settings.allow_insecure_public_url:
            print(f"kopek: {problem}. Set an https URL with --public-base-url (KOPEK_PUBLIC_BASE_URL), or start "
                  "anyway with --allow-insecure-public-url (KOPEK_ALLOW_INSECURE_PUBLIC_URL=1).", file=sys.stderr)
            return 2
        logging.getLogger("kopek").warning("%s; starting anyway (--allow-insecure-public-url)", problem)
    if asyncio.run(_with_store(settings, lambda store: _prepare_sandbox(store, settings))) != 0:
        return 2
    print(f"Kopek {settings.mode} server on {settings.public_base_url} (database {settings.db_path})")
    if settings.sandbox:
        print(f"Sandbox shop page: {settings.public_base_url}/sandbox")
        print(f"Sandbox phone:     {settings.public_base_url}/sandbox/phone")
    print(f"Dashboard:         {settings.public_base_url}/dashboard")
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None,
                access_log_format='%a "%r" %s %b %Tfs')
    return 0


def serve_simulators(settings: Settings) -> int:
    print(f"Kopek sandbox providers on http://{settings.host}:{settings.port}/sandbox/providers/<wallet>")
    web.run_app(create_simulators_app(settings.sandbox_time_scale, settings.sandbox_faults),
                host=settings.host, port=settings.port, print=None)
    return 0


async def _prepare_sandbox(store: SqliteStore, settings: Settings) -> int:
    if settings.sandbox:
        sandbox = await ensure_sandbox_merchant(store, settings)
        if sandbox.created:
            print("Created the sandbox merchant.")
            _print_keys(sandbox.created)
            password = await accounts_cli.create_sandbox_user(store, settings, sandbox.merchant.id)
            print(f"Dashboard login (shown once): {accounts_cli.SANDBOX_USER_EMAIL} / {password}")
    return 0
