"""kopek webhook create | list: webhook endpoints from the command line (the mode picks live or test)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from marshmallow import ValidationError

from kopek.errors import KopekError
from kopek.keyring import Keyring
from kopek.settings import Settings
from kopek.store.sqlite import SqliteStore
from kopek.store.webhooks import WebhookStore
from kopek.webhooks.endpoints import WebhookEndpoints
from kopek.webhooks.events import EVENT_TYPES
from kopek.webhooks.schemas import EndpointCreateSchema
from kopek.webhooks.views import endpoint_object


def add_commands(commands: Any) -> None:
    """Adds `webhook create` and `webhook list` to the CLI's subcommands."""
    webhook = commands.add_parser("webhook", help="manage webhook endpoints").add_subparsers(
        dest="webhook_action", required=True)
    create = webhook.add_parser("create", help="add an endpoint and print its secret once")
    create.add_argument("--merchant", required=True, metavar="MER", help="the merchant's id (mer_...)")
    create.add_argument("--url", required=True)
    create.add_argument("--event", action="append", dest="events", metavar="TYPE",
                        help=f"an event type to send (repeatable; default: all but the opt-in ones). "
                             f"One of: {', '.join(EVENT_TYPES)}")
    create.add_argument("--description", default="")
    create.add_argument("--json", action="store_true", help="print one JSON object")
    listing = webhook.add_parser("list", help="list a merchant's endpoints (never their secrets)")
    listing.add_argument("--merchant", required=True, metavar="MER")
    listing.add_argument("--json", action="store_true")


async def run(store: SqliteStore, keyring: Keyring, settings: Settings, args: argparse.Namespace) -> int:
    if await store.get_merchant(args.merchant) is None:
        return _fail(f"no such merchant: {args.merchant}")
    endpoints = WebhookEndpoints(WebhookStore(store), settings, keyring.purpose("webhook_secret"))
    livemode = not settings.sandbox
    if args.webhook_action == "create":
        return await _create(endpoints, args, livemode)
    return await _list(endpoints, args, livemode)


async def _create(endpoints: WebhookEndpoints, args: argparse.Namespace, livemode: bool) -> int:
    raw: dict[str, Any] = {"url": args.url, "description": args.description}
    if args.events:
        raw["events"] = args.events
    try:
        data = EndpointCreateSchema().load(raw)
        created = await endpoints.create(merchant_id=args.merchant, livemode=livemode, data=data)
    except ValidationError as exc:
        return _fail("; ".join(f"{field}: {' '.join(map(str, _flat(messages)))}"
                               for field, messages in exc.normalized_messages().items()))
    except KopekError as exc:
        return _fail(exc.message)
    shown = {**endpoint_object(created.endpoint), "secret": created.secret}
    if args.json:
        print(json.dumps(shown))
        return 0
    print(f"Webhook endpoint {shown['id']} -> {shown['url']}")
    print(f"Events: {', '.join(shown['events'])}")
    print(f"Signing secret (shown once, store it now): {shown['secret']}")
    return 0


async def _list(endpoints: WebhookEndpoints, args: argparse.Namespace, livemode: bool) -> int:
    found = [endpoint_object(e) for e in await endpoints.list(args.merchant, livemode)]
    if args.json:
        print(json.dumps(found))
        return 0
    for e in found:
        print(f"{e['id']}  {e['status']:8}  {e['url']}  events: {', '.join(e['events'])}")
    return 0


def _flat(messages: Any) -> list[Any]:
    if isinstance(messages, dict):
        return [m for value in messages.values() for m in _flat(value)]
    return list(messages) if isinstance(messages, list) else [messages]


def _fail(message: str) -> int:
    print(f"kopek: {message}", file=sys.stderr)
    return 2
