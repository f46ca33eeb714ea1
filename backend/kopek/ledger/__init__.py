"""Money: fee plans, the double-entry ledger, balances, provider settlements, settlements with
merchants and the invariant check. Pure rules live here; every SQL statement is in store/ledger.py."""
