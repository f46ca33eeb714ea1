"""`kopek button create`, run as a real process on a real SQLite file."""

from __future__ import annotations

import json
import re

from processes import create_merchant, kopek_env, run_cli


def test_button_create_prints_a_snippet_to_paste(tmp_path):
    db = tmp_path / "kopek.db"
    merchant = create_merchant(db, "Static shop")
    done = run_cli("button", "create", "--merchant", merchant["id"], "--amount", "500", "--currency", "RUB",
                   "--description", "PDF download", "--public-base-url", "https://pay.example", db=db)
    assert done.returncode == 0, done.stderr
    match = re.search(r'<form action="https://pay\.example/v1/buttons/(btn_\w+)/checkout" method="post">'
                      r'<input type="hidden" name="pk" value="([^"]+)"><button type="submit">Pay 5\.00 RUB</button>'
                      r'</form>', done.stdout)
    assert match, done.stdout
    assert match[2] == merchant["publishable_key"]
    assert f"https://pay.example/b/{match[1]}?pk={merchant['publishable_key']}" in done.stdout
    assert "sk_" not in done.stdout


def test_button_create_json_with_every_option(tmp_path):
    db = tmp_path / "kopek.db"
    merchant = create_merchant(db, "Static shop", "https://shop.example")
    env = kopek_env({"KOPEK_PUBLIC_BASE_URL": "https://kopek.example/"})
    done = run_cli("button", "create", "--merchant", merchant["id"], "--amount", "100", "--currency", "usd",
                   "--description", "Sticker", "--return-url", "https://shop.example/thanks?x=1#top",
                   "--expires-in", "3600", "--wallet", "webmoney", "--json", db=db, env=env)
    assert done.returncode == 0, done.stderr
    button = json.loads(done.stdout)
    assert (button["amount"], button["currency"], button["description"]) == (100, "USD", "Sticker")
    assert button["return_url"] == "https://shop.example/thanks?x=1#top" and button["wallets"] == ["webmoney"]
    assert button["expires_at"] > button["created_at"] and button["active"] is True
    assert button["url"].startswith(f"https://kopek.example/b/{button['id']}?pk=pk_test_")


def test_button_create_refuses_bad_input_clearly(tmp_path):
    db = tmp_path / "kopek.db"
    merchant = create_merchant(db, "Static shop")
    base = ["button", "create", "--merchant", merchant["id"], "--currency", "RUB", "--description", "PDF"]
    cases = [
        (["--amount", "0"], "amount"),
        (["--amount", "500", "--wallet", "nope"], "unknown wallet"),
        (["--amount", "500", "--return-url", "javascript:alert(1)"], "return_url"),
        (["--amount", "500", "--expires-in", "5"], "expires_in"),
        (["--amount", "99999999"], "no wallet accepts"),
    ]
    for extra, needle in cases:
        done = run_cli(*base, *extra, db=db)
        assert done.returncode == 2 and needle in done.stderr, (extra, done.stderr)
    unknown = run_cli("button", "create", "--merchant", "mer_nothere", "--amount", "500", "--currency", "RUB",
                      "--description", "PDF", db=db)
    assert unknown.returncode == 2 and "no such merchant" in unknown.stderr
    currency = run_cli(*base[:4], "--amount", "500", "--currency", "XXX", "--description", "PDF", db=db)
    assert currency.returncode == 2 and "currency" in currency.stderr
