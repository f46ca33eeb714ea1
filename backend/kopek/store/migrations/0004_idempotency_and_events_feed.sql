-- Idempotency-Key on the server API's POSTs (web/idempotency.py), and an index for the
-- events feed (GET /v1/events reads the outbox page by page for one merchant and mode).

CREATE TABLE idempotency_keys (
    merchant_id     TEXT NOT NULL REFERENCES merchants(id),
    livemode        INTEGER NOT NULL CHECK (livemode IN (0, 1)),
    idempotency_key TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    -- Names the request that claimed the key, so only it may finish or release the claim.
    token           TEXT NOT NULL,
    -- SHA-256 over the method, the path and the raw body: "the same parameters".
    fingerprint     TEXT NOT NULL,
    method          TEXT NOT NULL,
    path            TEXT NOT NULL,
    -- NULL while the first request runs; then its response, replayed byte for byte.
    status          INTEGER CHECK (status IS NULL OR status BETWEEN 100 AND 599),
    content_type    TEXT,
    body            BLOB CHECK (body IS NULL OR length(body) <= 65536),
    created_at      TEXT NOT NULL,
    completed_at    TEXT,
    PRIMARY KEY (merchant_id, livemode, idempotency_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

CREATE INDEX outbox_by_merchant ON outbox (merchant_id, livemode, id);
