"""The console's scenario picker: a wallet and a magic outcome give the exact details to type in
the widget and how the payment will then ask to be confirmed."""

from __future__ import annotations

from dataclasses import dataclass

from kopek.providers.contract import ConfirmationStyle, WalletField
from kopek.providers.plugin import WalletPlugin
from kopek.providers.registry import PLUGINS
from kopek.providers.sandbox.magic import MAGIC_ROWS, MagicRow

DEFAULT_WALLET = "webmoney"
DEFAULT_SCENARIO = MAGIC_ROWS[0].magic.value     # "succeed"
ROWS_BY_SCENARIO: dict[str, MagicRow] = {row.magic.value: row for row in MAGIC_ROWS}
# What the shopper does after typing the details, by how the wallet confirms.
NEXT_STEP = {
    ConfirmationStyle.ENTER_CODE: (
        "Then type the code the wallet sends: it appears in the sandbox phone panel below.",
        "Затем введите код от кошелька: он появится ниже, в панели телефона песочницы."),
    ConfirmationStyle.APPROVE_IN_WALLET: (
        "Then approve the payment on the wallet's page: the widget opens it, and the console links to it below.",
        "Затем подтвердите платёж на странице кошелька: виджет откроет её, а консоль покажет ссылку ниже."),
    ConfirmationStyle.NONE: (
        "The PIN confirms the payment: no code is sent.",
        "PIN-код подтверждает платёж: код не отправляется."),
}


@dataclass(frozen=True)
class Detail:
    """One value to type in the widget's form, with the element id the console gives it."""

    field: WalletField
    value: str
    element_id: str


@dataclass(frozen=True)
class Scenario:
    plugin: WalletPlugin
    row: MagicRow

    @property
    def wallet_id(self) -> str:
        return self.plugin.info.id

    @property
    def account(self) -> str:
        return self.plugin.example_account(self.row.ending)

    def details(self) -> list[Detail]:
        values = self.plugin.example_details(self.account)
        found = [field for field in self.plugin.info.fields if field.name in values]
        return [Detail(field, values[field.name], "magic-account" if i == 0 else f"magic-{field.name}")
                for i, field in enumerate(found)]

    def next_step(self) -> tuple[str, str]:
        return NEXT_STEP[self.plugin.info.confirmation]


def scenario(wallet_id: str, scenario_name: str) -> Scenario:
    """Both names were checked by the console's query schema."""
    return Scenario(PLUGINS[wallet_id], ROWS_BY_SCENARIO[scenario_name])


def magic_table() -> list[dict[str, object]]:
    """Every wallet's example account for every ending: the table under the console."""
    return [{"info": plugin.info, "accounts": {row.ending: plugin.example_account(row.ending) for row in MAGIC_ROWS}}
            for plugin in PLUGINS.values()]
