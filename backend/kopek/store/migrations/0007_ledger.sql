-- Money: fee plans, a double-entry ledger, provider settlements and settlements with merchants.
-- Amounts are INTEGER minor units. A posting is positive for a debit, negative for a credit.
-- The database keeps the books honest: postings and transactions are never rewritten, and a
-- transaction is sealed only when its postings sum to zero per currency.

CREATE TABLE fee_plans (
    merchant_id  TEXT NOT NULL REFERENCES merchants(id),
    wallet       TEXT NOT NULL CHECK (length(wallet) BETWEEN 1 AND 40),
    basis_points INTEGER NOT NULL CHECK (typeof(basis_points) = 'integer' AND basis_points BETWEEN 0 AND 10000),
    fixed        INTEGER NOT NULL CHECK (typeof(fixed) = 'integer' AND fixed >= 0),
    minimum      INTEGER NOT NULL CHECK (typeof(minimum) = 'integer' AND minimum >= 0),
    maximum      INTEGER CHECK (maximum IS NULL OR (typeof(maximum) = 'integer' AND maximum >= minimum)),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (merchant_id, wallet)
);

-- Set once, in the transaction that makes the payment succeed: fee + net = amount.
ALTER TABLE payments ADD COLUMN fee INTEGER
    CHECK (fee IS NULL OR (typeof(fee) = 'integer' AND fee >= 0 AND fee <= amount));
ALTER TABLE payments ADD COLUMN net INTEGER
    CHECK ((net IS NULL) = (fee IS NULL) AND (net IS NULL OR net + fee = amount));

-- Provider settlements look for succeeded payments by mode, wallet and currency.
CREATE INDEX payments_succeeded ON payments (livemode, wallet, currency) WHERE status = 'succeeded';

CREATE TRIGGER payments_fee_set_once BEFORE UPDATE OF fee, net ON payments
WHEN OLD.fee IS NOT NULL AND (NEW.fee IS NOT OLD.fee OR NEW.net IS NOT OLD.net)
BEGIN SELECT RAISE(ABORT, 'a payment''s fee and net are set once'); END;

-- One business fact books at most one transaction: (kind, ref_type, ref_id) is its key.
CREATE TABLE ledger_transactions (
    id          TEXT PRIMARY KEY CHECK (id LIKE 'ltx\_%' ESCAPE '\'),
    kind        TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 40),
    ref_type    TEXT NOT NULL CHECK (length(ref_type) BETWEEN 1 AND 40),
    ref_id      TEXT NOT NULL CHECK (length(ref_id) BETWEEN 1 AND 64),
    -- NULL when a transaction spans merchants (a provider's settlement).
    merchant_id TEXT REFERENCES merchants(id),
    livemode    INTEGER NOT NULL CHECK (livemode IN (0, 1)),
    created_at  TEXT NOT NULL,
    UNIQUE (kind, ref_type, ref_id)
);
CREATE INDEX ledger_transactions_by_merchant ON ledger_transactions (merchant_id, livemode, kind, created_at);

CREATE TABLE ledger_postings (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id TEXT NOT NULL REFERENCES ledger_transactions(id),
    account        TEXT NOT NULL CHECK (length(account) BETWEEN 8 AND 200
                       AND (account LIKE 'merchant:%' OR account LIKE 'provider:%' OR account LIKE 'kopek:%')),
    currency       TEXT NOT NULL CHECK (length(currency) = 3),
    amount         INTEGER NOT NULL CHECK (typeof(amount) = 'integer' AND amount <> 0),
    -- Every account name carries its currency: merchant:mer_1:RUB:pending.
    CHECK (instr(account, ':' || currency || ':') > 0)
);
CREATE INDEX ledger_postings_by_transaction ON ledger_postings (transaction_id);
CREATE INDEX ledger_postings_by_account ON ledger_postings (account, currency);

-- A transaction counts only once sealed; the seal is refused unless it balances.
CREATE TABLE ledger_seals (
    transaction_id TEXT PRIMARY KEY REFERENCES ledger_transactions(id),
    sealed_at      TEXT NOT NULL
);

CREATE TRIGGER ledger_seals_balanced BEFORE INSERT ON ledger_seals
WHEN (SELECT COUNT(*) FROM ledger_postings WHERE transaction_id = NEW.transaction_id) < 2
  OR EXISTS (SELECT 1 FROM ledger_postings WHERE transaction_id = NEW.transaction_id
             GROUP BY currency HAVING SUM(amount) <> 0)
BEGIN SELECT RAISE(ABORT, 'a ledger transaction must have two or more postings summing to zero per currency'); END;

CREATE TRIGGER ledger_postings_not_after_seal BEFORE INSERT ON ledger_postings
WHEN EXISTS (SELECT 1 FROM ledger_seals WHERE transaction_id = NEW.transaction_id)
BEGIN SELECT RAISE(ABORT, 'the ledger transaction is sealed; book a correction instead'); END;

CREATE TRIGGER ledger_postings_no_update BEFORE UPDATE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'ledger postings are immutable; book a correction instead'); END;
CREATE TRIGGER ledger_postings_no_delete BEFORE DELETE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'ledger postings are immutable; book a correction instead'); END;
CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are immutable'); END;
CREATE TRIGGER ledger_transactions_no_delete BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are immutable'); END;
CREATE TRIGGER ledger_seals_no_update BEFORE UPDATE ON ledger_seals
BEGIN SELECT RAISE(ABORT, 'ledger seals are immutable'); END;
CREATE TRIGGER ledger_seals_no_delete BEFORE DELETE ON ledger_seals
BEGIN SELECT RAISE(ABORT, 'ledger seals are immutable'); END;

-- A provider pays Kopek for a batch of succeeded payments of one wallet and currency.
CREATE TABLE provider_settlements (
    id             TEXT PRIMARY KEY CHECK (id LIKE 'pst\_%' ESCAPE '\'),
    livemode       INTEGER NOT NULL CHECK (livemode IN (0, 1)),
    wallet         TEXT NOT NULL,
    currency       TEXT NOT NULL CHECK (length(currency) = 3),
    amount         INTEGER NOT NULL CHECK (amount > 0),
    payments_count INTEGER NOT NULL CHECK (payments_count > 0),
    transaction_id TEXT NOT NULL UNIQUE REFERENCES ledger_transactions(id),
    created_at     TEXT NOT NULL
);

-- The primary key settles each payment with its provider once.
CREATE TABLE provider_settlement_items (
    payment_id             TEXT PRIMARY KEY REFERENCES payments(id),
    provider_settlement_id TEXT NOT NULL REFERENCES provider_settlements(id)
);
CREATE INDEX provider_settlement_items_by_settlement ON provider_settlement_items (provider_settlement_id);

CREATE TRIGGER provider_settlements_no_update BEFORE UPDATE ON provider_settlements
BEGIN SELECT RAISE(ABORT, 'provider settlements are immutable'); END;
CREATE TRIGGER provider_settlement_items_no_change BEFORE UPDATE ON provider_settlement_items
BEGIN SELECT RAISE(ABORT, 'provider settlement items are immutable'); END;
CREATE TRIGGER provider_settlement_items_no_delete BEFORE DELETE ON provider_settlement_items
BEGIN SELECT RAISE(ABORT, 'provider settlement items are immutable'); END;

-- Kopek settles with each merchant per UTC day, across all wallets. One per merchant, mode and day.
CREATE TABLE settlements (
    id                    TEXT PRIMARY KEY CHECK (id LIKE 'stl\_%' ESCAPE '\'),
    merchant_id           TEXT NOT NULL REFERENCES merchants(id),
    livemode              INTEGER NOT NULL CHECK (livemode IN (0, 1)),
    period_date           TEXT NOT NULL CHECK (period_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    period_start          TEXT NOT NULL,
    period_end            TEXT NOT NULL CHECK (period_end > period_start),
    status                TEXT NOT NULL CHECK (status IN ('open', 'paid')),
    created_at            TEXT NOT NULL,
    paid_at               TEXT,
    payout_transaction_id TEXT REFERENCES ledger_transactions(id),
    CHECK ((status = 'paid') = (paid_at IS NOT NULL)),
    UNIQUE (merchant_id, livemode, period_date)
);
CREATE INDEX settlements_by_merchant ON settlements (merchant_id, livemode, period_date, id);

-- Only open -> paid, once.
CREATE TRIGGER settlements_only_paid BEFORE UPDATE ON settlements
WHEN NOT (OLD.status = 'open' AND NEW.status = 'paid' AND NEW.id = OLD.id
          AND NEW.merchant_id = OLD.merchant_id AND NEW.livemode = OLD.livemode
          AND NEW.period_date = OLD.period_date)
BEGIN SELECT RAISE(ABORT, 'a settlement only changes from open to paid'); END;
CREATE TRIGGER settlements_no_delete BEFORE DELETE ON settlements
BEGIN SELECT RAISE(ABORT, 'settlements are kept'); END;

-- What a settlement covers: one line per payment (and, later, per refund). Each fact is settled
-- once: (line_type, ref_id) is unique across all settlements.
CREATE TABLE settlement_lines (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    settlement_id TEXT NOT NULL REFERENCES settlements(id),
    line_type     TEXT NOT NULL CHECK (length(line_type) BETWEEN 1 AND 40),
    ref_id        TEXT NOT NULL,
    order_id      TEXT,
    wallet        TEXT NOT NULL,
    currency      TEXT NOT NULL CHECK (length(currency) = 3),
    amount        INTEGER NOT NULL,
    fee           INTEGER NOT NULL,
    net           INTEGER NOT NULL CHECK (net = amount - fee),
    occurred_at   TEXT NOT NULL,
    UNIQUE (line_type, ref_id)
);
CREATE INDEX settlement_lines_by_settlement ON settlement_lines (settlement_id, id);

CREATE TRIGGER settlement_lines_no_update BEFORE UPDATE ON settlement_lines
BEGIN SELECT RAISE(ABORT, 'settlement lines are immutable'); END;
CREATE TRIGGER settlement_lines_no_delete BEFORE DELETE ON settlement_lines
BEGIN SELECT RAISE(ABORT, 'settlement lines are immutable'); END;
