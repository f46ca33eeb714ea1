"""e-port: an account + PIN debit (JSON over HTTP, HMAC-signed), and its sandbox simulator."""

from kopek.providers.eport.connector import INFO, EportConnector, EportCredentials
from kopek.providers.eport.simulator import create_simulator_app
from kopek.providers.plugin import WalletPlugin

PLUGIN = WalletPlugin(
    info=INFO,
    build_connector=lambda base_url, settings, http: EportConnector(
        base_url=base_url, credentials=EportCredentials.from_settings(settings), http=http,
        timeout_s=settings.provider_timeout_s),
    build_simulator=create_simulator_app,
    example_account=lambda ending: f"10000000{ending}",
    example_details=lambda account: {"account": account, "pin": "1234"},
)
