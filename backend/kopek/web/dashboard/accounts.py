"""Dashboard accounts: sign-up, login, logout, the team and its invitations, and the switch
between test and live data."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web
from aiohttp_session import STORAGE_KEY, new_session

from kopek import keys
from kopek.accounts.service import AccountError
from kopek.errors import RateLimited
from kopek.limits import Rate
from kopek.store.accounts import Membership
from kopek.web.dashboard.access import DashboardError, Form, form_action, member_page, public_action, public_page
from kopek.web.dashboard.context import CSRF_FIELD, PAGE, Member, load_page_context, new_csrf_token
from kopek.web.dashboard.forms import FormInvalid, InviteForm, LoginForm, ModeForm, SignupForm, load_form
from kopek.web.dashboard.render import flash, render, see_other
from kopek.web.requests import client_ip

routes = web.RouteTableDef()
HOME = "/dashboard/payments"
SIGNED_UP = "/dashboard/login?signed_up=1"
NEXT_AREAS = ("/dashboard", "/sandbox")   # where a login or a mode switch may send the browser back to


def safe_next(target: str) -> str:
    """Only a path of Kopek's own inside the dashboard or the sandbox console, never another site:
    not `//evil`, `/\\evil`, `/dashboard@evil`, `https://evil`, nor control characters."""
    for area in NEXT_AREAS:
        rest = target[len(area):]
        if target.startswith(area) and (rest == "" or rest[0] in "/?#") and _plain_path(target):
            return target
    return HOME


def _plain_path(target: str) -> bool:
    parts = urlsplit(target)
    return (not parts.scheme and not parts.netloc and "\\" not in target and "//" not in parts.path
            and target.isprintable() and " " not in target)


@routes.get("/dashboard")
@routes.get("/dashboard/")
@member_page
async def home(request: web.Request, member: Member) -> web.StreamResponse:
    raise see_other(HOME)


@routes.get("/dashboard/login")
@public_page
async def login_page(request: web.Request) -> web.StreamResponse:
    if request[PAGE].member is not None:
        raise see_other(HOME)
    return render(request, "dashboard/login.html", {
        "values": {"next": request.query.get("next", "")}, "expired": request.query.get("expired") == "1",
        "signed_up": request.query.get("signed_up") == "1"})


@routes.post("/dashboard/login")
@public_action
async def log_in(request: web.Request, form: Form) -> web.StreamResponse:
    try:
        data = load_form(LoginForm(), form)
        membership = await request.app[keys.ACCOUNTS].log_in(data["email"], data["password"], client_ip(request))
    except (FormInvalid, AccountError) as exc:
        return _form_again(request, "dashboard/login.html", form, exc)
    await _start_session(request, membership)
    welcome = await request.app[keys.ACCOUNTS].welcome_keys(membership)
    if welcome is not None:
        return render(request, "dashboard/keys_once.html", {"keys": welcome})
    raise see_other(safe_next(data["next"]))


@routes.get("/dashboard/signup")
@public_page
async def signup_page(request: web.Request) -> web.StreamResponse:
    return render(request, "dashboard/signup.html", {"values": {}, "signup_open": _signup_open(request)})


@routes.post("/dashboard/signup")
@public_action
async def sign_up(request: web.Request, form: Form) -> web.StreamResponse:
    """The same answer whether or not the email has an account: go and log in."""
    try:
        await _sign_up(request, load_form(SignupForm(), form))
    except (FormInvalid, AccountError) as exc:
        return _form_again(request, "dashboard/signup.html", form, exc, signup_open=_signup_open(request))
    raise see_other(SIGNED_UP)


async def _sign_up(request: web.Request, data: dict[str, str]) -> None:
    accounts = request.app[keys.ACCOUNTS]
    if bool(data.get("shop_name")) == bool(data.get("invite_code")):
        raise FormInvalid({"shop_name": ["give a shop name to start a new shop, or an invitation code to join one"]})
    if data.get("shop_name") and not _signup_open(request):
        raise _signup_closed()
    await _count_sign_up(request)
    if data.get("invite_code"):
        await accounts.sign_up_invited(data["email"], data["password"], data["invite_code"])
    else:
        await accounts.sign_up(data["email"], data["password"], data["shop_name"])


async def _count_sign_up(request: web.Request) -> None:
    rule = Rate("dashboard_signups_per_ip", request.app[keys.SETTINGS].signups_per_ip_per_hour, 3600)
    try:
        await request.app[keys.LIMITS].take(rule, client_ip(request))
    except RateLimited as exc:
        wait = exc.extra["retry_after_s"]
        raise AccountError("signup_throttled", f"Too many sign-ups from your address. Try again in {wait} s.",
                           f"Слишком много регистраций с вашего адреса. Повторите через {wait} с.",
                           status=429, retry_after_s=wait) from exc


def _signup_open(request: web.Request) -> bool:
    return request.app[keys.SETTINGS].signup_open


def _signup_closed() -> AccountError:
    return AccountError("signup_closed", "This server does not take sign-ups for new shops. Ask its operator "
                        "for an account, or ask your shop's owner for an invitation.",
                        "Этот сервер не регистрирует новые магазины. Попросите учётную запись у его "
                        "оператора или приглашение у владельца вашего магазина.", status=403)


@routes.post("/dashboard/logout")
@form_action(viewer_allowed=True)
async def log_out(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    request[PAGE].session.invalidate()
    request.app[keys.VISITOR_TOKENS].rotate(request)
    raise see_other("/dashboard/login")


@routes.get("/dashboard/team")
@member_page
async def team(request: web.Request, member: Member) -> web.StreamResponse:
    return await _team_page(request, member)


@routes.post("/dashboard/team/invites")
@form_action()
async def invite(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    try:
        data = load_form(InviteForm(), form)
        created = await request.app[keys.ACCOUNTS].invite(member.membership, data["email"], data["role"])
    except (FormInvalid, AccountError) as exc:
        return await _team_page(request, member, errors=_errors(request, exc), values=dict(form),
                                status=_status(exc))
    return await _team_page(request, member, new_invite=created, status=201)


@routes.post("/dashboard/mode")
@form_action(viewer_allowed=True)
async def switch_mode(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    """Which data the dashboard shows: test or live. It changes no data, so a viewer may switch."""
    try:
        data = load_form(ModeForm(), form)
    except FormInvalid as exc:
        raise DashboardError(400, "The mode is test or live.", "Режим: тестовый или боевой.") from exc
    request[PAGE].session["livemode"] = data["mode"] == "live"
    flash(request, f"Showing {data['mode']} data.",
          "Показаны тестовые данные." if data["mode"] == "test" else "Показаны боевые данные.")
    raise see_other(safe_next(data["next"]))


async def _team_page(request: web.Request, member: Member, *, status: int = 200, **context: object) -> web.Response:
    accounts = request.app[keys.ACCOUNTS].store
    return render(request, "dashboard/team.html", {
        "members": await accounts.members(member.merchant_id),
        "invites": await accounts.open_invites(member.merchant_id), "errors": {}, "values": {}, **context},
        status=status)


async def _start_session(request: web.Request, membership: Membership) -> None:
    """A fresh session id and CSRF token at every login, and a fresh form cookie: an id or a token
    planted before the login is worth nothing after it."""
    locale = request[PAGE].locale
    await request[STORAGE_KEY].forget(request)
    await request.app[keys.ACCOUNTS].store.delete_expired_sessions()   # ended sessions go at the next login
    session = await new_session(request)
    session.update({"user_id": membership.user_id, "merchant_id": membership.merchant_id,
                    CSRF_FIELD: new_csrf_token(), "locale": locale})
    request.app[keys.VISITOR_TOKENS].rotate(request)
    await load_page_context(request)


def _errors(request: web.Request, exc: FormInvalid | AccountError) -> dict[str, list[str]]:
    if isinstance(exc, FormInvalid):
        return exc.errors
    return {"_form": [exc.message(request[PAGE].locale)]}


def _status(exc: FormInvalid | AccountError) -> int:
    return exc.status if isinstance(exc, AccountError) else 400


def _form_again(request: web.Request, template: str, form: Form, exc: FormInvalid | AccountError,
                **context: object) -> web.Response:
    """The same form, with what was typed (never the password) and what is wrong."""
    values = {k: v for k, v in form.items() if k not in ("password", CSRF_FIELD)}
    response = render(request, template, {"values": values, "errors": _errors(request, exc), **context},
                      status=_status(exc))
    if isinstance(exc, AccountError) and exc.retry_after_s:
        response.headers["Retry-After"] = str(exc.retry_after_s)
    return response
