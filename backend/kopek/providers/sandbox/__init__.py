"""What every wallet simulator shares: the phone, the magic wallets, fault injection, callbacks,
and the runtime that runs a simulator's background tasks and releases its stalls (runtime.py)."""
