"""Refunds: POST /v1/refunds, the provider's refund call, the ledger booking and refund.* events."""
