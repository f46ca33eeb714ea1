"""Copy-and-paste snippets filled with the merchant's own test keys and Kopek's URL.

A secret key is stored hashed, so a snippet names it `$KOPEK_SECRET_KEY` with the key's hint in
a comment, unless the owner has just revealed a new one (shown this once)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from kopek.money import Money
from kopek.web.sandbox_console.workspace import ConsoleKeys

PLACEHOLDER_CLIENT_SECRET = "pay_…_secret_…"   # before the console has started a payment
VERIFY_PYTHON = '''\
# pip install standardwebhooks
import os

from standardwebhooks import Webhook, WebhookVerificationError

# Your endpoint's whsec_… secret: Kopek shows it once, when the endpoint is made or its secret rotated.
webhook = Webhook(os.environ["KOPEK_WEBHOOK_SECRET"])


def handle_kopek_webhook(body: bytes, headers: dict[str, str]) -> int:
    """Give it the raw request body (never re-serialized JSON) and headers; answer the status it returns."""
    try:
        event = webhook.verify(body, headers)  # refuses forged bodies and ones older than 5 minutes
    except WebhookVerificationError:
        return 400
    if event["type"] == "payment.succeeded":
        payment = event["data"]["object"]
        print("paid:", payment["id"], payment["order_id"])  # deliver the order here, once per payment id
    return 204
'''


@dataclass(frozen=True)
class Snippet:
    element_id: str
    title_en: str
    title_ru: str
    language: str
    text: str


def snippets(base_url: str, client_secret: str, amount: Money, keys: ConsoleKeys,
             revealed_key: str | None) -> list[Snippet]:
    return [
        Snippet("snippet-script", "The widget on your page", "Виджет на вашей странице", "html",
                script_tag(base_url, client_secret, keys)),
        Snippet("snippet-curl", "Create a payment from your server", "Создать платёж с вашего сервера", "sh",
                create_payment_curl(base_url, amount, keys, revealed_key)),
        Snippet("snippet-verify", "Verify a webhook (Python)", "Проверить вебхук (Python)", "python",
                VERIFY_PYTHON),
    ]


def script_tag(base_url: str, client_secret: str, keys: ConsoleKeys) -> str:
    publishable = keys.publishable.lookup if keys.publishable else "pk_test_…"
    return (f"<!-- The client secret comes with each payment your server creates (client_secret).\n"
            f"     Payment buttons on static sites use your publishable key instead: {publishable} -->\n"
            f"<style>#pay {{ min-height: 760px }}</style>  <!-- the widget's height: the page never moves -->\n"
            f'<div id="pay"></div>\n'
            f'<script src="{base_url}/v1/kopek.js" data-client-secret="{client_secret}" data-target="#pay" async>'
            f"</script>\n")


def create_payment_curl(base_url: str, amount: Money, keys: ConsoleKeys, revealed_key: str | None) -> str:
    body = json.dumps({"amount": amount.amount_minor, "currency": amount.currency,
                       "order_id": f"order-{secrets.token_hex(4)}", "description": f"Test order, {amount}"},
                      ensure_ascii=False)
    return (f"{_secret_key_lines(keys, revealed_key)}\n"
            f"# amount is in minor units (kopecks, cents); one order_id is paid at most once.\n"
            f"curl {base_url}/v1/payments \\\n"
            f'  -H "Authorization: Bearer $KOPEK_SECRET_KEY" \\\n'
            f'  -H "Content-Type: application/json" \\\n'
            f"  -d '{body}'\n")


def _secret_key_lines(keys: ConsoleKeys, revealed_key: str | None) -> str:
    if revealed_key:
        return f"export KOPEK_SECRET_KEY='{revealed_key}'"
    hint = keys.secret.hint if keys.secret else "sk_test_…"
    return (f"# Your test secret key is {hint}; Kopek keeps only its hash, so export the one you saved.\n"
            f': "${{KOPEK_SECRET_KEY:?export your test secret key ({hint}) first}}"')
