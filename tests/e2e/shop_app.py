"""A small shop on its own origin, as a shop developer would write it against Kopek.

Its server creates payments with the secret key and reads them back; its pages embed
the widget with one script tag (or Kopek.mount) and log every event the page receives.
Run: python shop_app.py --port P --kopek-url URL --secret-key sk_test_...
"""

from __future__ import annotations

import argparse
import html
import secrets

import aiohttp
from aiohttp import web

KOPEK_URL = web.AppKey("kopek_url", str)
SECRET_KEY = web.AppKey("secret_key", str)
HTTP = web.AppKey("http", aiohttp.ClientSession)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body data-payment-id="{payment_id}">
<h1>Shop</h1><p>Order {order_id}: {amount} kopecks</p>
<div id="pay"{reserve}></div>
{embed}
<p id="below">The download starts as soon as you have paid.</p>
<script src="/shop.js"></script>
<ol id="events"></ol>
</body></html>"""

SCRIPT_TAG = '<script src="{kopek}/v1/kopek.js" data-client-secret="{secret}" data-target="#pay"{locale} async></script>'
MOUNT = ('<script src="{kopek}/v1/kopek.js"></script>'
         '<script>window.handle = Kopek.mount("#pay", {{clientSecret: "{secret}"}})'
         '.on("succeeded", function (d) {{ window.succeededCallback = d; }})'
         '.on("failed", function (d) {{ window.failedCallback = d; }});</script>')

SHOP_JS = """
["kopek:ready", "kopek:status", "kopek:succeeded", "kopek:failed", "kopek:canceled", "kopek:expired"]
  .forEach(function (name) {
    document.getElementById("pay").addEventListener(name, function (event) {
      var item = document.createElement("li");
      item.dataset.event = name;
      item.dataset.status = (event.detail && event.detail.status) || "";
      item.textContent = name + " " + item.dataset.status;
      document.getElementById("events").appendChild(item);
    });
  });
"""


async def create_payment(app: web.Application, amount: int, return_url: str | None = None) -> dict:
    order_id = "order-" + secrets.token_hex(4)
    body = {"amount": amount, "currency": "RUB", "order_id": order_id}
    if return_url:
        body["return_url"] = return_url.format(order_id=order_id)
    async with app[HTTP].post(f"{app[KOPEK_URL]}/v1/payments", json=body,
                              headers={"Authorization": f"Bearer {app[SECRET_KEY]}"}) as response:
        response.raise_for_status()
        return await response.json()


async def kopek_get(app: web.Application, path: str, **params: str) -> tuple[int, dict]:
    async with app[HTTP].get(f"{app[KOPEK_URL]}{path}", params=params,
                             headers={"Authorization": f"Bearer {app[SECRET_KEY]}"}) as response:
        return response.status, await response.json()


async def checkout(request: web.Request) -> web.Response:
    if "payment" in request.query:  # an order page for a payment the shop already made (see /buy)
        status, payment = await kopek_get(request.app, f"/v1/payments/{request.query['payment']}")
        if status != 200:
            raise web.HTTPNotFound(text="no such order")
    else:
        payment = await create_payment(request.app, int(request.query.get("amount", "500")))
    template = MOUNT if request.query.get("embed") == "mount" else SCRIPT_TAG
    locale = request.query.get("locale")
    embed = template.format(kopek=request.app[KOPEK_URL], secret=html.escape(payment["client_secret"]),
                            locale=f' data-locale="{html.escape(locale)}"' if locale else "")
    # The README's snippet reserves the widget's height; ?reserve=0 is a shop that forgot to.
    reserve = "" if request.query.get("reserve") == "0" else ' style="min-height: 760px"'
    page = PAGE.format(payment_id=payment["id"], order_id=payment["order_id"], amount=payment["amount"],
                       embed=embed, reserve=reserve)
    return web.Response(text=page, content_type="text/html")


async def order_status(request: web.Request) -> web.Response:
    """What the shop's server learns when it asks Kopek about the payment."""
    async with request.app[HTTP].get(f"{request.app[KOPEK_URL]}/v1/payments/{request.match_info['id']}",
                                     headers={"Authorization": f"Bearer {request.app[SECRET_KEY]}"}) as response:
        return web.json_response(await response.json(), status=response.status)


async def buy(request: web.Request) -> web.Response:
    """Create the payment, then send the shopper to a stable order page (/checkout?payment=ID),
    so that a wallet sending the shopper back to that page finds the same payment.
    `?return_url=1` also gives Kopek a return_url: this shop's /return?order=<order_id>."""
    return_url = None
    if request.query.get("return_url"):
        return_url = f"{request.scheme}://{request.host}/return?order={{order_id}}"
    payment = await create_payment(request.app, int(request.query.get("amount", "500")), return_url)
    raise web.HTTPSeeOther(f"/checkout?payment={payment['id']}")


async def pay_on_kopek(request: web.Request) -> web.Response:
    """The hosted-page flow: create the payment with a return_url that has its own query string
    and fragment (/return?order=<order_id>&lang=en#top), then send the shopper to checkout_url."""
    return_url = f"{request.scheme}://{request.host}/return?order={{order_id}}&lang=en#top"
    payment = await create_payment(request.app, int(request.query.get("amount", "500")), return_url)
    raise web.HTTPSeeOther(payment["checkout_url"])


RETURN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Your order</title>{refresh}</head>
<body data-payment-id="{payment_id}">
<h1>Order {order_id}</h1>
<p>Payment status: <strong id="order-status" data-status="{status}">{status}</strong></p>
</body></html>"""


async def return_page(request: web.Request) -> web.Response:
    """Where a wallet sends the shopper back: the shop asks its server (Kopek's API), not the page."""
    order_id = request.query.get("order", "")
    status, listing = await kopek_get(request.app, "/v1/payments", order_id=order_id)
    if status != 200 or not listing.get("data"):
        raise web.HTTPNotFound(text="no such order")
    payment = listing["data"][0]
    final = payment["status"] in ("succeeded", "failed", "canceled", "expired")
    page = RETURN_PAGE.format(order_id=html.escape(order_id), payment_id=html.escape(payment["id"]),
                              status=html.escape(payment["status"]),
                              refresh="" if final else '<meta http-equiv="refresh" content="1">')
    return web.Response(text=page, content_type="text/html")


async def shop_js(request: web.Request) -> web.Response:
    return web.Response(text=SHOP_JS, content_type="text/javascript")


async def http_client(app: web.Application):
    async with aiohttp.ClientSession() as session:
        app[HTTP] = session
        yield


def create_shop_app(kopek_url: str, secret_key: str) -> web.Application:
    app = web.Application()
    app[KOPEK_URL] = kopek_url
    app[SECRET_KEY] = secret_key
    app.cleanup_ctx.append(http_client)
    app.router.add_get("/checkout", checkout)
    app.router.add_get("/orders/{id}", order_status)
    app.router.add_get("/buy", buy)
    app.router.add_get("/pay-on-kopek", pay_on_kopek)
    app.router.add_get("/return", return_page)
    app.router.add_get("/shop.js", shop_js)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--kopek-url", required=True)
    parser.add_argument("--secret-key", required=True)
    args = parser.parse_args()
    web.run_app(create_shop_app(args.kopek_url, args.secret_key), host="127.0.0.1", port=args.port,
                print=None)
