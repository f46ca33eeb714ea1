-- Refunds netted by their provider: when a wallet provider settles with Kopek it deducts the
-- refunds it carried out, which clears them from refunds in transit. The primary key nets each
-- refund once; the row is written with its ledger transaction, in one database transaction.
CREATE TABLE refund_nettings (
    refund_id      TEXT PRIMARY KEY REFERENCES refunds(id),
    transaction_id TEXT NOT NULL UNIQUE REFERENCES ledger_transactions(id),
    created_at     TEXT NOT NULL
);

CREATE TRIGGER refund_nettings_no_update BEFORE UPDATE ON refund_nettings
BEGIN SELECT RAISE(ABORT, 'refund nettings are immutable'); END;
CREATE TRIGGER refund_nettings_no_delete BEFORE DELETE ON refund_nettings
BEGIN SELECT RAISE(ABORT, 'refund nettings are immutable'); END;
