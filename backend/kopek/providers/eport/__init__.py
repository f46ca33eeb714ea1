"""e-port: an account + PIN debit (JSON over HTTP, HMAC-signed), and its sandbox simulator."""

from kopek.providers.eport.connector import INFO, EportConnector, EportCredentials
from kopek.providers.eport.simulator import create_simulator_app
from kopek.providers.plugin import WalletPlugin, connector_factory

PLUGIN = WalletPlugin(
    info=INFO,
    build_connector=connector_factory(EportConnector, EportCredentials),
    build_simulator=create_simulator_app,
    example_account=lambda ending: f"10000000{ending}",
    example_details=lambda account: {"account": account, "pin": "1234"},
)
