"""The operator's `kopek user create`, run as a real process on the server's database file."""

from __future__ import annotations

import re

from kopek import keys
from processes import run_cli


def user_create(kopek, *args):
    return run_cli("user", "create", *args, db=kopek.app[keys.SETTINGS].db_path)


async def test_operator_adds_a_user_who_can_log_in(kopek, visitors):
    done = user_create(kopek, "--merchant", kopek.merchant.merchant.id, "--email", "Ops@Shop.Test", "--role", "viewer")
    assert done.returncode == 0, done.stderr
    password = re.search(r"password \(shown once\): (\S+)", done.stdout).group(1)
    visitor = visitors()
    page = await visitor.log_in("ops@shop.test", password)
    assert 'class="who">ops@shop.test · viewer' in page.text


async def test_operator_refusals_are_clear(kopek):
    done = user_create(kopek, "--merchant", "mer_nope", "--email", "a@shop.test")
    assert done.returncode == 2 and "no merchant mer_nope" in done.stderr
    assert user_create(kopek, "--merchant", kopek.merchant.merchant.id, "--email", "a@shop.test").returncode == 0
    again = user_create(kopek, "--merchant", kopek.merchant.merchant.id, "--email", "a@shop.test")
    assert again.returncode == 2 and "exists" in again.stderr
