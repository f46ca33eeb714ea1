"""Yandex.Dengi: a connector modelled on request-payment / process-payment with ext_auth,
and its sandbox simulator."""

from kopek.providers.plugin import WalletPlugin, connector_factory
from kopek.providers.yandex_dengi.connector import INFO, YandexDengiConnector, YandexDengiCredentials
from kopek.providers.yandex_dengi.simulator import create_simulator_app

PLUGIN = WalletPlugin(
    info=INFO,
    build_connector=connector_factory(YandexDengiConnector, YandexDengiCredentials),
    build_simulator=lambda context: create_simulator_app(time_scale=context.time_scale, faults=context.faults),
    example_account=lambda ending: f"4100100000000{ending}",
    example_details=lambda account: {"wallet": account},
)
