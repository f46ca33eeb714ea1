"""The console's snippets and the owner's "Reveal a new test secret key": the new key is shown
once, works on the API, and the old key keeps working for a day; no one else may roll it."""

from __future__ import annotations

import time
from datetime import timedelta

from sandbox_steps import api, open_console, start_payment

from kopek import clock, keys
from kopek.webhooks import signing
from kopek.web.sandbox_console.snippets import VERIFY_PYTHON


async def working_secret_keys(kopek, merchant_id: str) -> list:
    found = await kopek.app[keys.STORE].working_api_keys(merchant_id)
    return [k for k in found if k.kind == "secret" and not k.livemode]


async def api_status(kopek, secret_key: str) -> int:
    return (await kopek.client.get("/v1/payments", headers=api(secret_key))).status


async def test_the_owner_reveals_a_new_key_once_and_both_keys_work(kopek, owner):
    page = await open_console(owner)
    merchant_id = page.find(r'id="console-merchant">([^<]+)<')
    revealed = await owner.post("/sandbox/keys/reveal")
    assert revealed.status == 200 and revealed.headers["Cache-Control"] == "no-store"
    new_key = revealed.find(r'id="revealed-secret-key" class="secret">([^<]+)<')
    assert new_key.startswith("sk_test_") and new_key != owner.keys["sk-test"]
    assert "Kopek keeps only its hash and will not show it again" in revealed.text
    assert "keeps working for 24 hours" in revealed.find(r'id="revealed-warning">([^<]+)<')
    assert f"export KOPEK_SECRET_KEY=&#39;{new_key}&#39;" in revealed.text
    assert 'data-copy="#revealed-secret-key"' in revealed.text

    assert await api_status(kopek, new_key) == 200
    assert await api_status(kopek, owner.keys["sk-test"]) == 200
    old = next(k for k in await working_secret_keys(kopek, merchant_id) if k.expires_at)
    assert clock.now() + timedelta(hours=23) < clock.from_iso(old.expires_at) <= clock.now() + timedelta(hours=24)

    later = await open_console(owner)
    assert new_key not in later.text, "shown once"
    assert later.find(r'id="key-secret-hint">([^<]+)<') == f"{new_key[:8]}…{new_key[-4:]}"
    assert 'id="revealed-secret-key"' not in later.text


async def test_a_viewer_or_a_visitor_cannot_reveal_keys(kopek, owner, viewer, visitors):
    merchant_id = (await open_console(viewer)).find(r'id="console-merchant">([^<]+)<')
    before = await working_secret_keys(kopek, merchant_id)
    refused = await viewer.post("/sandbox/keys/reveal")
    assert refused.status == 403 and "viewer" in refused.text
    assert 'id="reveal-key"' not in (await open_console(viewer)).text
    anonymous = visitors()
    page = await open_console(anonymous)
    assert 'id="reveal-key"' not in page.text and 'id="reveal-log-in"' in page.text
    assert (await anonymous.post("/sandbox/keys/reveal")).status == 401
    await open_console(owner)
    assert (await owner.post("/sandbox/keys/reveal", with_csrf=False)).status == 403
    assert (await owner.post("/sandbox/keys/reveal", {"kind": "live"})).status == 400
    assert await working_secret_keys(kopek, merchant_id) == before


async def test_the_snippets_carry_this_merchants_keys_and_kopeks_url(kopek, owner):
    page = await start_payment(owner)
    script = page.find(r'<code id="snippet-script" class="language-html">(.*?)</code>')
    assert f'<script src="{kopek.base_url}/v1/kopek.js" data-client-secret="' in script
    assert page.find(r'data-client-secret="([^"]+)"') in script
    assert owner.keys["pk-test"] in script
    curl = page.find(r'<code id="snippet-curl" class="language-sh">(.*?)</code>')
    assert f"curl {kopek.base_url}/v1/payments" in curl
    assert 'Authorization: Bearer $KOPEK_SECRET_KEY' in curl
    assert f"{owner.keys['sk-test'][:8]}…{owner.keys['sk-test'][-4:]}" in curl
    for snippet in ("snippet-script", "snippet-curl", "snippet-verify"):
        assert f'data-copy="#{snippet}"' in page.text


def test_the_verification_snippet_accepts_kopeks_signature_and_refuses_a_forgery(monkeypatch):
    secret = signing.derive_secret(b"k" * 32, "we_test", 1)
    monkeypatch.setenv("KOPEK_WEBHOOK_SECRET", secret)
    namespace: dict = {}
    exec(compile(VERIFY_PYTHON, "snippet-verify", "exec"), namespace)
    body = b'{"id":"evt_1","type":"payment.succeeded","data":{"object":{"id":"pay_1","order_id":"o-1"}}}'
    now = int(time.time())
    headers = {"webhook-id": "evt_1", "webhook-timestamp": str(now),
               "webhook-signature": signing.signature_header([secret], "evt_1", now, body)}
    assert namespace["handle_kopek_webhook"](body, headers) == 204
    assert namespace["handle_kopek_webhook"](body.replace(b"o-1", b"o-2"), headers) == 400
