-- Webhook endpoints, one delivery job per (event, endpoint), and every attempt made.
-- Endpoint secrets are never stored: they are derived from an instance key, the endpoint
-- id and a version number, so rotating means bumping the version.

CREATE TABLE webhook_endpoints (
    id                         TEXT PRIMARY KEY CHECK (id LIKE 'we\_%' ESCAPE '\'),
    merchant_id                TEXT NOT NULL REFERENCES merchants(id),
    livemode                   INTEGER NOT NULL CHECK (livemode IN (0, 1)),
    url                        TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    description                TEXT NOT NULL DEFAULT '',
    events                     TEXT NOT NULL,
    status                     TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
    disabled_reason            TEXT,
    secret_version             INTEGER NOT NULL DEFAULT 1 CHECK (secret_version >= 1),
    -- During a rotation's overlap the previous version signs too, until it expires.
    previous_secret_version    INTEGER,
    previous_secret_expires_at TEXT,
    created_at                 TEXT NOT NULL,
    updated_at                 TEXT NOT NULL,
    deleted_at                 TEXT
);
CREATE INDEX webhook_endpoints_by_merchant ON webhook_endpoints (merchant_id, livemode, created_at);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY CHECK (id LIKE 'whd\_%' ESCAPE '\'),
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints(id),
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payment_id      TEXT,
    seq             INTEGER,
    -- The exact JSON sent on every attempt (signed as it is).
    body            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'abandoned')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT,
    last_attempt_at TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status IN ('pending', 'failed');
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, created_at, id);

CREATE TABLE webhook_attempts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id      TEXT NOT NULL REFERENCES webhook_deliveries(id),
    started_at       TEXT NOT NULL,
    duration_ms      INTEGER NOT NULL CHECK (duration_ms >= 0),
    http_status      INTEGER,
    error            TEXT,
    response_excerpt TEXT CHECK (response_excerpt IS NULL OR length(CAST(response_excerpt AS BLOB)) <= 1024)
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id);
