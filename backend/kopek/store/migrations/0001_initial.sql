-- Kopek's first schema: merchants, keys, payments, attempts, events and the outbox.
-- Timestamps are ISO 8601 UTC strings of one fixed width, so they sort as text.

CREATE TABLE instance_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE instance_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE merchants (
    id         TEXT PRIMARY KEY CHECK (id LIKE 'mer\_%' ESCAPE '\'),
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at TEXT NOT NULL
);

CREATE TABLE merchant_origins (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    origin      TEXT NOT NULL,
    PRIMARY KEY (merchant_id, origin)
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    kind        TEXT NOT NULL CHECK (kind IN ('secret', 'publishable')),
    livemode    INTEGER NOT NULL CHECK (livemode IN (0, 1)),
    -- SHA-256 of a secret key; the publishable key itself (it is public).
    lookup      TEXT NOT NULL UNIQUE,
    hint        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE payments (
    id                 TEXT PRIMARY KEY CHECK (id LIKE 'pay\_%' ESCAPE '\'),
    merchant_id        TEXT NOT NULL REFERENCES merchants(id),
    livemode           INTEGER NOT NULL CHECK (livemode IN (0, 1)),
    status             TEXT NOT NULL CHECK (status IN ('requires_wallet', 'requires_confirmation',
                           'processing', 'succeeded', 'failed', 'canceled', 'expired')),
    amount             INTEGER NOT NULL CHECK (amount > 0),
    currency           TEXT NOT NULL CHECK (length(currency) = 3),
    order_id           TEXT NOT NULL CHECK (length(order_id) BETWEEN 1 AND 200),
    description        TEXT NOT NULL DEFAULT '',
    return_url         TEXT,
    metadata           TEXT NOT NULL DEFAULT '{}',
    allowed_wallets    TEXT,
    wallet             TEXT,
    current_attempt_id TEXT,
    next_action        TEXT,
    last_error         TEXT,
    attempts_count     INTEGER NOT NULL DEFAULT 0 CHECK (attempts_count >= 0),
    last_seq           INTEGER NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    expires_at         TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);

-- One shop order is paid at most once: while a payment for it is open or has succeeded,
-- no other may exist. Canceled, expired and failed ones make room for a new try.
CREATE UNIQUE INDEX payments_one_live_per_order
    ON payments (merchant_id, livemode, order_id)
    WHERE status NOT IN ('canceled', 'expired', 'failed');
CREATE INDEX payments_by_merchant ON payments (merchant_id, livemode, created_at, id);
CREATE INDEX payments_open_by_expiry ON payments (expires_at)
    WHERE status IN ('requires_wallet', 'requires_confirmation');

CREATE TABLE attempts (
    id              TEXT PRIMARY KEY CHECK (id LIKE 'att\_%' ESCAPE '\'),
    payment_id      TEXT NOT NULL REFERENCES payments(id),
    wallet          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('starting', 'requires_confirmation',
                        'processing', 'succeeded', 'failed')),
    provider_ref    TEXT,
    account_hint    TEXT NOT NULL DEFAULT '',
    code_tries      INTEGER NOT NULL DEFAULT 0 CHECK (code_tries >= 0),
    failure_code    TEXT,
    failure_message TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (payment_id, idempotency_key),
    UNIQUE (wallet, provider_ref)
);
CREATE INDEX attempts_by_payment ON attempts (payment_id, created_at);

CREATE TABLE payment_events (
    id         TEXT PRIMARY KEY CHECK (id LIKE 'evt\_%' ESCAPE '\'),
    payment_id TEXT NOT NULL REFERENCES payments(id),
    seq        INTEGER NOT NULL CHECK (seq > 0),
    type       TEXT NOT NULL,
    status     TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (payment_id, seq)
);

-- Events are a record of what happened: never rewritten, never removed, never a gap.
CREATE TRIGGER payment_events_no_update BEFORE UPDATE ON payment_events
BEGIN SELECT RAISE(ABORT, 'payment events are immutable'); END;
CREATE TRIGGER payment_events_no_delete BEFORE DELETE ON payment_events
BEGIN SELECT RAISE(ABORT, 'payment events are immutable'); END;
CREATE TRIGGER payment_events_gapless BEFORE INSERT ON payment_events
WHEN NEW.seq <> (SELECT COALESCE(MAX(seq), 0) + 1 FROM payment_events WHERE payment_id = NEW.payment_id)
BEGIN SELECT RAISE(ABORT, 'payment event seq must follow the last one'); END;

-- Written in the same transaction as each event; the webhook sender drains it.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id      TEXT NOT NULL UNIQUE REFERENCES payment_events(id),
    merchant_id   TEXT NOT NULL REFERENCES merchants(id),
    livemode      INTEGER NOT NULL,
    type          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    dispatched_at TEXT
);
CREATE INDEX outbox_pending ON outbox (id) WHERE dispatched_at IS NULL;

-- Every provider callback, verified or not, for audit and replay detection.
CREATE TABLE provider_callbacks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    wallet       TEXT NOT NULL,
    body_sha256  TEXT NOT NULL,
    provider_ref TEXT,
    verified     INTEGER NOT NULL CHECK (verified IN (0, 1)),
    result       TEXT NOT NULL,
    received_at  TEXT NOT NULL
);
CREATE INDEX provider_callbacks_by_body ON provider_callbacks (wallet, body_sha256);
