"""kopek button create: a payment button from the command line, printed as a paste-ready snippet.

The mode (--mode / KOPEK_MODE) picks test or live keys; the snippet's URLs use the public
base URL (--public-base-url / KOPEK_PUBLIC_BASE_URL), so set it to what shoppers reach.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from marshmallow import ValidationError

from kopek.buttons import ButtonCreateSchema, ButtonService
from kopek.errors import KopekError
from kopek.providers import registry
from kopek.settings import Settings
from kopek.store.sqlite import SqliteStore


def add_commands(commands: Any) -> None:
    button = commands.add_parser("button", help="payment buttons for static pages").add_subparsers(
        dest="button_action", required=True)
    create = button.add_parser("create", help="create a payment button and print its HTML snippet")
    create.add_argument("--merchant", required=True, metavar="MER", help="the merchant's id (mer_...)")
    create.add_argument("--amount", required=True, type=int, help="price in minor units (500 = 5.00 RUB)")
    create.add_argument("--currency", required=True, help="ISO 4217 code, e.g. RUB")
    create.add_argument("--description", required=True, help="what the shopper buys")
    create.add_argument("--return-url", metavar="URL", help="where the shopper goes when the payment is over")
    create.add_argument("--expires-in", type=int, metavar="SECONDS", help="retire the button after this long")
    create.add_argument("--wallet", action="append", dest="wallets", metavar="ID",
                        help="offer only this wallet (repeatable)")
    create.add_argument("--public-base-url", help="the URL shoppers reach Kopek at (KOPEK_PUBLIC_BASE_URL)")
    create.add_argument("--json", action="store_true", help="print the button as one JSON object")


async def run(store: SqliteStore, settings: Settings, args: argparse.Namespace) -> int:
    if await store.get_merchant(args.merchant) is None:
        return _fail(f"no such merchant: {args.merchant}")
    raw: dict[str, Any] = {"amount": args.amount, "currency": args.currency, "description": args.description}
    for name in ("return_url", "expires_in", "wallets"):
        if getattr(args, name) is not None:
            raw[name] = getattr(args, name)
    service = ButtonService(store, registry.WALLETS, settings.public_base_url)
    try:
        button = await service.create(args.merchant, not settings.sandbox, ButtonCreateSchema().load(raw))
    except ValidationError as exc:
        return _fail("; ".join(f"{field}: {' '.join(map(str, messages)) if isinstance(messages, list) else messages}"
                               for field, messages in exc.normalized_messages().items()))
    except KopekError as exc:
        return _fail(exc.message)
    data = await service.to_json(button)
    if args.json:
        print(json.dumps(data))
    elif data["snippet"] is None:
        return _fail(f"button {button.id} was created, but the merchant has no publishable key for its snippet")
    else:
        print(f"Button {button.id}: {button.description}, {args.amount} {button.currency} minor units")
        print("Paste this into your page:\n")
        print(data["snippet"])
        print(f"\nOr link to it (e.g. in an email): {data['url']}")
    return 0


def _fail(message: str) -> int:
    print(f"kopek: {message}", file=sys.stderr)
    return 2
