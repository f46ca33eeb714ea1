"""WebMoney: a connector modelled on the X20 interface, and its sandbox simulator."""

from kopek.providers.plugin import WalletPlugin
from kopek.providers.webmoney.connector import INFO, WebMoneyConnector, WebMoneyCredentials
from kopek.providers.webmoney.simulator import create_simulator_app, example_account

PLUGIN = WalletPlugin(
    info=INFO,
    build_connector=lambda base_url, settings, http: WebMoneyConnector(
        base_url=base_url, credentials=WebMoneyCredentials.from_settings(settings), http=http,
        timeout_s=settings.provider_timeout_s),
    build_simulator=create_simulator_app,
    example_account=example_account,
    example_details=lambda account: {"account": account},
)
