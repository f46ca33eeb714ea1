"""Each provider's daily statement format, parsed into neutral lines. Anything malformed is a
MalformedStatement naming what is wrong (never quoting more than a few characters).

- webmoney: XML `<statement date="YYYY-MM-DD"><operation type="payment|refund" ref=".."
  amount="5.00" fee="0.05"/>...</statement>`
- yandex_dengi: CSV with the header `operation_id,type,amount,fee` (amounts as 5.00)
- eport: JSON `{"date": "YYYY-MM-DD", "operations": [{"ref", "type", "amount", "fee"}]}`
  (integers of minor units)
- kreditpilot: semicolon CSV with the header `ref;type;amount_kop;fee_kop` (integers)
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Callable

from kopek import strict_json

MAX_STATEMENT_BYTES = 16 * 1024 * 1024
MAX_LINES = 200_000
TYPES = ("payment", "refund")
_DECIMAL = re.compile(r"(0|[1-9][0-9]{0,11})\.([0-9]{2})")
_REF = re.compile(r"[A-Za-z0-9:._-]{1,100}")


class MalformedStatement(ValueError):
    pass


@dataclass(frozen=True)
class StatementLine:
    ref: str       # the provider's id of the payment operation or of the refund
    type: str      # payment | refund
    amount: int    # minor units
    fee: int       # what the provider charged, minor units


def parse(provider: str, body: bytes) -> list[StatementLine]:
    if provider not in PARSERS:
        raise MalformedStatement(f"no statement format is known for provider {provider[:40]!r}")
    if len(body) > MAX_STATEMENT_BYTES:
        raise MalformedStatement(f"the statement is larger than {MAX_STATEMENT_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedStatement("the statement is not UTF-8") from None
    lines = PARSERS[provider](text)
    if len(lines) > MAX_LINES:
        raise MalformedStatement(f"the statement has more than {MAX_LINES} operations")
    refs = [(line.type, line.ref) for line in lines]
    if len(set(refs)) != len(refs):
        raise MalformedStatement("the statement lists an operation twice")
    return lines


def _line(n: int, ref: Any, kind: Any, amount: int, fee: int) -> StatementLine:
    if not isinstance(ref, str) or not _REF.fullmatch(ref):
        raise MalformedStatement(f"operation {n}: the ref is missing or malformed")
    if kind not in TYPES:
        raise MalformedStatement(f"operation {n}: the type must be payment or refund")
    if amount <= 0 or fee < 0:
        raise MalformedStatement(f"operation {n}: the amount must be positive and the fee not negative")
    return StatementLine(ref, kind, amount, fee)


def _decimal(n: int, text: Any) -> int:
    match = _DECIMAL.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise MalformedStatement(f"operation {n}: an amount is not like 5.00")
    return int(match[1]) * 100 + int(match[2])


def _integer(n: int, text: Any) -> int:
    if isinstance(text, str) and re.fullmatch(r"(0|[1-9][0-9]{0,13})", text):
        return int(text)
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    raise MalformedStatement(f"operation {n}: an amount is not a whole number of minor units")


def _webmoney(text: str) -> list[StatementLine]:
    if "<!doctype" in text.lower() or "<!entity" in text.lower():
        raise MalformedStatement("the statement must not declare a DOCTYPE or entities")
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        raise MalformedStatement("the statement is not well-formed XML") from None
    if root.tag != "statement":
        raise MalformedStatement("the statement's root must be <statement>")
    return [_line(n, op.get("ref"), op.get("type"), _decimal(n, op.get("amount")), _decimal(n, op.get("fee")))
            for n, op in enumerate(root.iter("operation"), 1)]


def _csv(header: list[str], delimiter: str, money: Callable[[int, Any], int]) -> Callable[[str], list[StatementLine]]:
    def parse_csv(text: str) -> list[StatementLine]:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
        if not rows or [cell.strip() for cell in rows[0]] != header:
            raise MalformedStatement(f"the statement's header must be {delimiter.join(header)}")
        lines = []
        for n, row in enumerate(rows[1:], 1):
            if not row:
                continue
            if len(row) != len(header):
                raise MalformedStatement(f"operation {n}: expected {len(header)} fields")
            ref, kind, amount, fee = (cell.strip() for cell in row)
            lines.append(_line(n, ref, kind, money(n, amount), money(n, fee)))
        return lines
    return parse_csv


def _eport(text: str) -> list[StatementLine]:
    try:
        doc = strict_json.loads(text)
    except ValueError:
        raise MalformedStatement("the statement is not valid JSON") from None
    operations = doc.get("operations") if isinstance(doc, dict) else None
    if not isinstance(operations, list):
        raise MalformedStatement("the statement must be an object with an operations list")
    lines = []
    for n, op in enumerate(operations, 1):
        if not isinstance(op, dict):
            raise MalformedStatement(f"operation {n} is not an object")
        lines.append(_line(n, op.get("ref"), op.get("type"), _integer(n, op.get("amount")), _integer(n, op.get("fee"))))
    return lines


PARSERS: dict[str, Callable[[str], list[StatementLine]]] = {
    "webmoney": _webmoney,
    "yandex_dengi": _csv(["operation_id", "type", "amount", "fee"], ",", _decimal),
    "eport": _eport,
    "kreditpilot": _csv(["ref", "type", "amount_kop", "fee_kop"], ";", _integer),
}


# ---- rendering (the sandbox simulators publish their statements with these) ----------------

def _money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def render(provider: str, day: str, lines: list[StatementLine]) -> tuple[bytes, str]:
    """(body, content type) of a statement in the provider's own format."""
    if provider == "webmoney":
        root = ET.Element("statement", date=day)
        for line in lines:
            ET.SubElement(root, "operation", type=line.type, ref=line.ref, amount=_money(line.amount),
                          fee=_money(line.fee))
        return ET.tostring(root, encoding="utf-8", xml_declaration=True), "text/xml"
    if provider == "eport":
        operations = [{"ref": x.ref, "type": x.type, "amount": x.amount, "fee": x.fee} for x in lines]
        return json.dumps({"date": day, "operations": operations}).encode(), "application/json"
    if provider in ("yandex_dengi", "kreditpilot"):
        comma = provider == "yandex_dengi"
        out = io.StringIO()
        writer = csv.writer(out, delimiter="," if comma else ";", lineterminator="\n")
        writer.writerow(["operation_id", "type", "amount", "fee"] if comma else ["ref", "type", "amount_kop", "fee_kop"])
        for x in lines:
            writer.writerow([x.ref, x.type, _money(x.amount) if comma else x.amount,
                             _money(x.fee) if comma else x.fee])
        return out.getvalue().encode(), "text/csv"
    raise ValueError(f"no statement format for {provider}")
