-- Refunds. payments.amount_refunded holds what pending and succeeded refunds have reserved; the
-- CHECK makes the database refuse any reservation beyond the amount paid, so concurrent refunds
-- that together exceed it cannot both be reserved.
ALTER TABLE payments ADD COLUMN amount_refunded INTEGER NOT NULL DEFAULT 0
    CHECK (typeof(amount_refunded) = 'integer' AND amount_refunded >= 0 AND amount_refunded <= amount);

CREATE TABLE refunds (
    id                  TEXT PRIMARY KEY CHECK (id LIKE 're\_%' ESCAPE '\'),
    payment_id          TEXT NOT NULL REFERENCES payments(id),
    merchant_id         TEXT NOT NULL REFERENCES merchants(id),
    livemode            INTEGER NOT NULL CHECK (livemode IN (0, 1)),
    wallet              TEXT NOT NULL,
    amount              INTEGER NOT NULL CHECK (typeof(amount) = 'integer' AND amount > 0),
    currency            TEXT NOT NULL CHECK (length(currency) = 3),
    status              TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    reason              TEXT CHECK (reason IS NULL OR length(reason) <= 500),
    failure_code        TEXT,
    provider_refund_ref TEXT,
    -- Set when it succeeds: how the refund was split between the merchant's net and Kopek's fee,
    -- and which merchant bucket it was taken from.
    merchant_share      INTEGER,
    fee_share           INTEGER,
    merchant_bucket     TEXT CHECK (merchant_bucket IS NULL OR merchant_bucket IN ('pending', 'available')),
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    CHECK ((status = 'succeeded') = (merchant_share IS NOT NULL)),
    CHECK (merchant_share IS NULL OR merchant_share + fee_share = amount)
);
CREATE INDEX refunds_by_payment ON refunds (payment_id, created_at, id);

CREATE TRIGGER refunds_only_finish BEFORE UPDATE ON refunds
WHEN NOT (OLD.status = 'pending' AND NEW.status IN ('succeeded', 'failed') AND NEW.id = OLD.id
          AND NEW.payment_id = OLD.payment_id AND NEW.amount = OLD.amount)
BEGIN SELECT RAISE(ABORT, 'a refund only changes from pending to succeeded or failed'); END;
CREATE TRIGGER refunds_no_delete BEFORE DELETE ON refunds
BEGIN SELECT RAISE(ABORT, 'refunds are kept'); END;
