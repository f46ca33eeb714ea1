"""The simulator's pages for the shopper: the approval page (ext_auth) and its answers.

Small static HTML, no scripts, each with its own strict Content-Security-Policy. Headings,
button names and element ids are stable so browser tests can find them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from urllib.parse import urlsplit

from aiohttp import web

APPROVE_HEADING = "Approve the payment"
DONE_EN = "Done — you can close this window and return to the shop"
DONE_RU = "Готово — можно закрыть это окно и вернуться в магазин"
MAX_RETURN_URL_CHARS = 2048
_HOST = re.compile(r"[A-Za-z0-9.-]+(?::[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?")

_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f4f0;color:#1b1b1b}
main{max-width:26rem;margin:3rem auto;padding:1.5rem;background:#fff;border-radius:12px;
box-shadow:0 1px 4px rgba(0,0,0,.12)}
.brand{color:#8a6d00;font-weight:600;margin:0}
h1{font-size:1.4rem;margin:.5rem 0 0}
.ru{color:#555;margin:0 0 1rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem}
dt{color:#555}dd{margin:0;font-variant-numeric:tabular-nums}
form{display:flex;gap:.75rem;margin-top:1.5rem}
button{flex:1;font:inherit;padding:.7rem;border-radius:8px;border:1px solid #888;cursor:pointer}
#approve{background:#ffdb4d;border-color:#e0b800;font-weight:600}
#decline{background:#fff}
"""


@dataclass(frozen=True)
class ApprovalView:
    request_id: str
    token: str
    amount: str          # "5.00 RUB"
    payee: str
    payer: str
    description: str
    return_url: str      # "" when absent or not an http(s) URL


def safe_return_url(raw: str) -> str:
    """The `return` parameter if it is a plain absolute http(s) URL, else ""."""
    if len(raw) > MAX_RETURN_URL_CHARS or any(ord(c) < 33 or c in "<>\"'\\" for c in raw):
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not _HOST.fullmatch(parts.netloc):
        return ""
    return raw


def csp(return_to: str = "") -> str:
    # A form's redirect must also match form-action, so the return origin is allowed too.
    origin = ""
    if return_to:
        parts = urlsplit(return_to)
        origin = f" {parts.scheme}://{parts.netloc}"
    return f"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'{origin}; frame-ancestors 'none'"


def approval_page(view: ApprovalView) -> web.Response:
    rows = [("Amount", "Сумма", view.amount, "amount"), ("Payee", "Получатель", view.payee, "payee"),
            ("From wallet", "С кошелька", view.payer, "payer")]
    if view.description:
        rows.append(("For", "За что", view.description, "description"))
    details = "".join(
        f'<dt>{en} <span lang="ru">/ {ru}</span></dt><dd id="{ident}">{escape(value)}</dd>'
        for en, ru, value, ident in rows)
    hidden = "".join(f'<input type="hidden" name="{name}" value="{escape(value)}">' for name, value in (
        ("request_id", view.request_id), ("token", view.token), ("return", view.return_url)))
    body = (
        f'<h1 id="approve-heading">{APPROVE_HEADING}</h1><p class="ru" lang="ru">Подтвердите платёж</p>'
        f"<dl>{details}</dl>"
        f'<form method="post" action="ext_auth/decision" aria-labelledby="approve-heading">{hidden}'
        '<button type="submit" name="decision" value="approve" id="approve">Approve</button>'
        '<button type="submit" name="decision" value="decline" id="decline">Decline</button></form>'
        '<p class="ru" lang="ru">Approve — подтвердить, Decline — отклонить.</p>'
    )
    return _page(200, APPROVE_HEADING, body, csp(view.return_url))


def message_page(status: int, heading_en: str, text_en: str, heading_ru: str, text_ru: str,
                 ident: str) -> web.Response:
    body = (f'<h1 id="{ident}">{escape(heading_en)}</h1><p>{escape(text_en)}</p>'
            f'<h2 lang="ru">{escape(heading_ru)}</h2><p lang="ru">{escape(text_ru)}</p>')
    return _page(status, heading_en, body, csp())


def done_page() -> web.Response:
    return message_page(200, "Done", DONE_EN, "Готово", DONE_RU, "done")


def not_found_page() -> web.Response:
    return message_page(404, "Unknown payment request", "There is no payment request with this id.",
                        "Запрос на платёж не найден", "Запроса на платёж с таким номером нет.", "not-found")


def finished_page() -> web.Response:
    return message_page(409, "This payment is no longer awaiting approval",
                        "It has already been approved, declined or finished.",
                        "Этот платёж уже не ждёт подтверждения",
                        "Его уже подтвердили, отклонили или завершили.", "finished")


def forbidden_page() -> web.Response:
    return message_page(403, "This approval form is not valid", "Open the approval page for this payment again.",
                        "Форма подтверждения недействительна",
                        "Откройте страницу подтверждения этого платежа заново.", "forbidden")


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store",
                                             "Content-Security-Policy": csp()})


def _page(status: int, title: str, body: str, policy: str) -> web.Response:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · Yandex.Dengi sandbox</title><style>{_STYLE}</style></head>"
        '<body><main><p class="brand">Yandex.Dengi <span lang="ru">/ Яндекс.Деньги</span> · sandbox</p>'
        f"{body}</main></body></html>"
    )
    return web.Response(status=status, text=html, content_type="text/html", charset="utf-8", headers={
        "Content-Security-Policy": policy, "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
    })
