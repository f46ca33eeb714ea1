"""WebMoney: a connector modelled on the X20 interface, and its sandbox simulator."""

from kopek.providers.plugin import WalletPlugin
from kopek.providers.webmoney.connector import INFO, WebMoneyConnector, WebMoneyCredentials
from kopek.providers.webmoney.simulator import create_simulator_app

PLUGIN = WalletPlugin(
    info=INFO,
    build_connector=lambda base_url, settings, http: WebMoneyConnector(
        base_url=base_url, credentials=WebMoneyCredentials.from_settings(settings), http=http,
        timeout_s=settings.provider_timeout_s),
    build_simulator=lambda context: create_simulator_app(phone=context.phone, time_scale=context.time_scale),
    example_account=lambda ending: f"R1000000000{ending}",
    example_details=lambda account: {"account": account},
)
