"""Dashboard payments: the filtered list, its CSV export, the detail page and refunds.

Everything is for the member's merchant in the mode they look at (test or live). The list is a
plain GET form and links, so it works without JavaScript; dashboard-live.js only adds live rows.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any, AsyncIterator
from urllib.parse import urlencode

from aiohttp import web

from kopek import clock, keys
from kopek.errors import NotFound
from kopek.idempotency import RequestPrint
from kopek.ledger.report import csv_rows, spreadsheet_text
from kopek.money import CURRENCY_EXPONENTS, Money
from kopek.store.idempotency import KeyScope, StoredResponse
from kopek.store.payment_history import NEWER, OLDER, PaymentFilter, PaymentHistory
from kopek.store.records import Payment
from kopek.store.refunds import Refund
from kopek.web.dashboard.access import DashboardError, Form, form_action, member_page
from kopek.web.dashboard.context import CSRF_FIELD, PAGE, Member
from kopek.web.dashboard.forms import FormInvalid, load_form, refusal
from kopek.web.dashboard.payment_forms import (
    FILTER_EXPONENT, STATUS_LABELS, PaymentFilters, PaymentPageQuery, cursor_of, payment_filter, refund_form,
    status_label, wallet_label,
)
from kopek.web.dashboard.payment_live import live_socket
from kopek.web.dashboard.render import flash, render, see_other
from kopek.web.downloads import start_csv

routes = web.RouteTableDef()
LIST_PATH = "/dashboard/payments"
CSV_PAGE = 500
MAX_EVENTS_LISTED = 200
PAGING_PARAMS = ("starting_after", "ending_before", "limit")
CSV_HEADER = ("id", "created_at", "order_id", "wallet", "status", "amount", "currency", "fee", "net", "refunded")

# Before /dashboard/payments/{id}, which would take "live" for an id.
routes.get(f"{LIST_PATH}/live")(live_socket)


@dataclass(frozen=True)
class Listing:
    rows: list[Payment]
    newer_url: str | None
    older_url: str | None
    first_url: str | None       # back to the newest page, when on another one
    live_prepend: bool          # new payments belong at the top: first page, no filter


# -- the list -------------------------------------------------------------------------------

@routes.get(LIST_PATH)
@member_page
async def payment_list(request: web.Request, member: Member) -> web.StreamResponse:
    try:
        query = _load_query(request, PaymentPageQuery(_wallet_ids(request)))
    except FormInvalid as exc:
        return _render(request, "dashboard/payments.html", {"errors": exc.errors, "listing": None}, status=400)
    listing = await _listing(request, member, query)
    return _render(request, "dashboard/payments.html", {"errors": {}, "listing": listing, "limit": query["limit"]})


async def _listing(request: web.Request, member: Member, query: dict[str, Any]) -> Listing:
    cursor_id, direction = cursor_of(query)
    cursor = await _cursor(request, member, cursor_id)
    where, limit = payment_filter(query), query["limit"]
    rows = await _history(request).page(merchant_id=member.merchant_id, livemode=member.livemode, where=where,
                                        limit=limit + 1, cursor=cursor, direction=direction)
    more = len(rows) > limit    # the extra row is the one furthest from the cursor
    rows = rows[:limit] if direction == OLDER else rows[-limit:]
    has_newer = more if direction == NEWER else cursor is not None
    has_older = more if direction == OLDER else cursor is not None
    kept = _kept_params(request, keep_limit=True)
    return Listing(
        rows=rows,
        newer_url=_page_url(kept, ending_before=rows[0].id) if rows and has_newer else None,
        older_url=_page_url(kept, starting_after=rows[-1].id) if rows and has_older else None,
        first_url=_page_url(kept) if cursor is not None else None,
        live_prepend=cursor is None and where.is_empty)


async def _cursor(request: web.Request, member: Member, payment_id: str | None) -> Payment | None:
    if payment_id is None:
        return None
    try:
        return await request.app[keys.PAYMENTS].get_for_merchant(member.merchant_id, member.livemode, payment_id)
    except NotFound:
        raise DashboardError(400, f"The page link is wrong: there is no payment {payment_id} to continue from.",
                             f"Ссылка на страницу неверна: нет платежа {payment_id}, от которого продолжить.") from None


def _load_query(request: web.Request, schema: PaymentFilters) -> dict[str, Any]:
    """Every parameter must be the schema's: even a stray csrf_token (which forms skip) is refused."""
    if CSRF_FIELD in request.query:
        raise FormInvalid({CSRF_FIELD: ["Unknown field."]})
    return load_form(schema, request.query)


def _kept_params(request: web.Request, *, keep_limit: bool = False) -> dict[str, str]:
    """The filters as typed (and the page size), for the links to other pages and to the CSV."""
    dropped = {"locale", *PAGING_PARAMS} - ({"limit"} if keep_limit else set())
    return {k: v for k, v in request.query.items() if v.strip() and k not in dropped}


def _page_url(params: dict[str, str], **cursor: str) -> str:
    query = urlencode({**params, **cursor})
    return f"{LIST_PATH}?{query}" if query else LIST_PATH


# -- the CSV export -------------------------------------------------------------------------

@routes.get(f"{LIST_PATH}.csv")
@member_page
async def payments_csv(request: web.Request, member: Member) -> web.StreamResponse:
    """The filtered list, streamed page by page, so a long history never sits in memory at once."""
    try:
        where = payment_filter(_load_query(request, PaymentFilters(_wallet_ids(request))))
    except FormInvalid as exc:
        raise refusal(exc) from None
    mode = "live" if member.livemode else "test"
    response = await start_csv(request, f"kopek-payments-{mode}-{clock.now().strftime('%Y%m%dT%H%M%SZ')}.csv")
    await response.write(csv_rows([CSV_HEADER]))
    async for rows in _all_pages(request, member, where):
        await response.write(csv_rows(_csv_row(payment) for payment in rows))
    await response.write_eof()
    return response


async def _all_pages(request: web.Request, member: Member, where: PaymentFilter) -> AsyncIterator[list[Payment]]:
    history, cursor = _history(request), None
    while True:
        rows = await history.page(merchant_id=member.merchant_id, livemode=member.livemode, where=where,
                                  limit=CSV_PAGE, cursor=cursor)
        if rows:
            yield rows
        if len(rows) < CSV_PAGE:
            return
        cursor = rows[-1]


def _csv_row(payment: Payment) -> tuple[str, ...]:
    def decimal(amount: int | None) -> str:
        return "" if amount is None else Money(payment.currency, amount).decimal_string()
    return (payment.id, payment.created_at, spreadsheet_text(payment.order_id), payment.wallet or "", payment.status,
            decimal(payment.amount), payment.currency, decimal(payment.fee), decimal(payment.net),
            decimal(payment.amount_refunded))


# -- the detail page and refunds --------------------------------------------------------------

@routes.get(f"{LIST_PATH}/{{id}}")
@member_page
async def payment_detail(request: web.Request, member: Member) -> web.StreamResponse:
    return await _detail_page(request, await _payment(request, member))


@routes.get(f"{LIST_PATH}/{{id}}/refund")
@member_page
async def refund_page(request: web.Request, member: Member) -> web.StreamResponse:
    """The refund form lives on the detail page (a reload of the confirmation lands here)."""
    raise see_other(f"{LIST_PATH}/{request.match_info['id']}")


@routes.post(f"{LIST_PATH}/{{id}}/refund")
@form_action()
async def refund(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    """First post: check and ask for confirmation. Second (confirm=yes): refund, once."""
    payment = await _payment(request, member)
    try:
        data = load_form(refund_form(CURRENCY_EXPONENTS[payment.currency])(), form)
        if data.get("confirm") != "yes":
            _check_refundable(payment, data["amount"])
            return _confirm_page(request, payment, data)
        made, replayed = await asyncio.shield(_refund_once(request, member, payment, data))
    except FormInvalid as exc:
        return await _detail_page(request, payment, errors=exc.errors, status=400,
                                  values={k: v for k, v in form.items() if k != CSRF_FIELD})
    _flash_refund(request, made, replayed)
    raise see_other(f"{LIST_PATH}/{payment.id}")


def _check_refundable(payment: Payment, amount: int) -> None:
    if payment.status != "succeeded":
        raise DashboardError(409, f"Only a succeeded payment can be refunded; this one is "
                             f"{status_label(payment.status, 'en').lower()}. Nothing was refunded.",
                             f"Вернуть можно только успешный платёж, а статус этого: "
                             f"«{status_label(payment.status, 'ru')}». Возврата не было.")
    left = payment.amount - payment.amount_refunded
    if amount > left:
        raise FormInvalid({"amount": [f"At most {Money(payment.currency, left)} can still be refunded."]})


async def _refund_once(request: web.Request, member: Member, payment: Payment,
                       data: dict[str, Any]) -> tuple[Refund, bool]:
    """The confirmation form carries a one-time random refund_key. It is claimed through the same
    guard as the API's Idempotency-Key (a unique row per merchant, mode and key): the first post
    refunds and keeps the refund's id; a repeated post (double click, reload, back button) waits
    while the first runs, then gets that refund back instead of making a second (for as long as
    the guard keeps keys: KOPEK_IDEMPOTENCY_TTL_S, a day by default). A refused refund releases
    the key. Returns the refund and whether it was made before."""
    guard = request.app[keys.IDEMPOTENCY]
    scope = KeyScope(member.merchant_id, member.livemode, f"dashboard-refund:{data['refund_key']}")
    body = f"{payment.id}\n{data['amount']}\n{data.get('reason', '')}".encode()
    outcome = await guard.begin(scope, RequestPrint.of("POST", request.path, body))
    refunds = request.app[keys.REFUNDS]
    if isinstance(outcome, StoredResponse):
        return await refunds.get_for_merchant(member.merchant_id, member.livemode, outcome.body.decode()), True
    made: Refund | None = None
    try:   # checked here, not before the claim: a replay after a full refund must still find its refund
        _check_refundable(payment, data["amount"])
        made = await refunds.create(payment, {"amount": data["amount"], "reason": data.get("reason")})
    finally:   # a refused refund changed nothing: the same confirmation may be tried again
        await guard.finish(outcome, None if made is None else StoredResponse(201, "text/plain", made.id.encode()))
    return made, False


def _flash_refund(request: web.Request, made: Refund, replayed: bool) -> None:
    amount = str(Money(made.currency, made.amount))
    en, ru = {
        "succeeded": (f"Refunded {amount} ({made.id}).", f"Возвращено {amount} ({made.id})."),
        "pending": (f"Refund {made.id} of {amount} is pending: the wallet has not answered yet.",
                    f"Возврат {made.id} на {amount} в обработке: кошелёк ещё не ответил."),
        "failed": (f"The wallet declined refund {made.id} of {amount} ({made.failure_code}); nothing was refunded.",
                   f"Кошелёк отклонил возврат {made.id} на {amount} ({made.failure_code}); деньги не возвращены."),
    }[made.status]
    if replayed:
        en, ru = f"This confirmation was already sent. {en}", f"Это подтверждение уже было отправлено. {ru}"
    flash(request, en, ru)


def _confirm_page(request: web.Request, payment: Payment, data: dict[str, Any]) -> web.Response:
    return _render(request, "dashboard/payment_refund_confirm.html", {
        "payment": payment, "amount": Money(payment.currency, data["amount"]), "reason": data.get("reason", ""),
        "refund_key": secrets.token_urlsafe(24)})


async def _payment(request: web.Request, member: Member) -> Payment:
    payment_id = request.match_info["id"]
    try:
        return await request.app[keys.PAYMENTS].get_for_merchant(member.merchant_id, member.livemode, payment_id)
    except NotFound:
        mode_en, mode_ru = ("live", "боевых") if member.livemode else ("test", "тестовых")
        raise DashboardError(404, f"There is no payment {payment_id} in your {mode_en} data.",
                             f"Платежа {payment_id} нет среди ваших {mode_ru} данных.") from None


async def _detail_page(request: web.Request, payment: Payment, *, status: int = 200,
                       errors: dict[str, list[str]] | None = None,
                       values: dict[str, str] | None = None) -> web.Response:
    refundable = payment.amount - payment.amount_refunded if payment.status == "succeeded" else 0
    default = {"amount": Money(payment.currency, refundable).decimal_string()}
    return _render(request, "dashboard/payment.html", {
        **await _detail(request, payment), "refundable": Money(payment.currency, refundable),
        "errors": errors or {}, "values": values if values is not None else default}, status=status)


async def _detail(request: web.Request, payment: Payment) -> dict[str, Any]:
    history = _history(request)
    events, _ = await request.app[keys.PAYMENTS].events(payment, 0, MAX_EVENTS_LISTED)
    return {"payment": payment, "events": events, "attempts": await history.attempts(payment.id),
            "refunds": await request.app[keys.REFUNDS].refunds.for_payment(payment.id),
            "deliveries": await history.deliveries(payment.id)}


# -- shared ---------------------------------------------------------------------------------

def _render(request: web.Request, template: str, context: dict[str, Any], *, status: int = 200) -> web.Response:
    """render() plus what every payment page shows: status and wallet names, the filter choices."""
    locale, wallets = request[PAGE].locale, request.app[keys.PAYMENTS].wallets
    return render(request, template, {
        "status_label": lambda status: status_label(status, locale),
        "wallet_label": lambda wallet: wallet_label(wallets, wallet, locale),
        "statuses": list(STATUS_LABELS), "wallet_ids": _wallet_ids(request), "query": dict(request.query),
        "filter_query": urlencode(_kept_params(request)), "amount_places": FILTER_EXPONENT, **context},
        status=status)


def _wallet_ids(request: web.Request) -> list[str]:
    return list(request.app[keys.PAYMENTS].wallets)


def _history(request: web.Request) -> PaymentHistory:
    return PaymentHistory(request.app[keys.STORE])
