"""KreditPilot: prepaid cards charged by number and PIN, over signed JSON-RPC, and its sandbox simulator."""

from kopek.providers.kreditpilot.connector import INFO, KreditPilotConnector, KreditPilotCredentials
from kopek.providers.kreditpilot.simulator import create_simulator_app
from kopek.providers.plugin import WalletPlugin, connector_factory

PLUGIN = WalletPlugin(
    info=INFO,
    build_connector=connector_factory(KreditPilotConnector, KreditPilotCredentials),
    build_simulator=lambda context: create_simulator_app(context),
    example_account=lambda ending: f"70000000000000{ending}",
    example_details=lambda account: {"card": account, "pin": "1234"},
)
