"""Reconciliation: a provider's daily statement matched against Kopek's payments and refunds."""
