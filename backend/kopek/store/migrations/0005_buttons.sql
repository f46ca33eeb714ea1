-- Payment buttons: a fixed-price product a static page sells with a plain HTML form.
-- Each press creates a fresh payment (order_id "<button id>-<random>").

CREATE TABLE buttons (
    id              TEXT PRIMARY KEY CHECK (id LIKE 'btn\_%' ESCAPE '\'),
    merchant_id     TEXT NOT NULL REFERENCES merchants(id),
    livemode        INTEGER NOT NULL CHECK (livemode IN (0, 1)),
    amount          INTEGER NOT NULL CHECK (amount > 0),
    currency        TEXT NOT NULL CHECK (length(currency) = 3),
    description     TEXT NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
    return_url      TEXT,
    allowed_wallets TEXT,
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    expires_at      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX buttons_by_merchant ON buttons (merchant_id, livemode, created_at, id);
