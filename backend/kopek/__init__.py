"""Kopek: a self-hosted checkout for e-wallet micropayments."""

__version__ = "0.1.0"
