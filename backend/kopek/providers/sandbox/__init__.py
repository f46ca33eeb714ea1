"""What every wallet simulator shares: the phone, the magic wallets, fault injection, callbacks."""
