"""WebMoney: a connector modelled on the X20 interface, and its sandbox simulator."""

from kopek.providers.plugin import WalletPlugin, connector_factory
from kopek.providers.webmoney.connector import INFO, WebMoneyConnector, WebMoneyCredentials
from kopek.providers.webmoney.simulator import create_simulator_app, example_account

PLUGIN = WalletPlugin(
    info=INFO,
    build_connector=connector_factory(WebMoneyConnector, WebMoneyCredentials),
    build_simulator=create_simulator_app,
    example_account=example_account,
    example_details=lambda account: {"account": account},
)
