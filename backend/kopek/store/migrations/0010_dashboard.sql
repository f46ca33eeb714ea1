-- The dashboard: people who log in, their role in each merchant, invitations and sessions.

CREATE TABLE users (
    id            TEXT PRIMARY KEY CHECK (id LIKE 'usr\_%' ESCAPE '\'),
    email         TEXT NOT NULL UNIQUE CHECK (length(email) BETWEEN 3 AND 254),
    password_hash TEXT NOT NULL,   -- argon2id, with its parameters and salt
    created_at    TEXT NOT NULL
);

CREATE TABLE memberships (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    user_id     TEXT NOT NULL REFERENCES users(id),
    role        TEXT NOT NULL CHECK (role IN ('owner', 'viewer')),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (merchant_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id, created_at);

-- An owner invites someone by email; the code (stored hashed) is shown to the owner once.
CREATE TABLE invites (
    id          TEXT PRIMARY KEY CHECK (id LIKE 'inv\_%' ESCAPE '\'),
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    email       TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'viewer')),
    code_hash   TEXT NOT NULL UNIQUE,
    invited_by  TEXT NOT NULL REFERENCES users(id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    accepted_at TEXT
);
CREATE INDEX invites_by_merchant ON invites (merchant_id, created_at);

-- Server-side sessions: the cookie holds a random id, the table its SHA-256.
CREATE TABLE dashboard_sessions (
    id_hash    TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX dashboard_sessions_by_expiry ON dashboard_sessions (expires_at);

-- A rolled key keeps working until expires_at (the overlap a shop needs to deploy the new one).
ALTER TABLE api_keys ADD COLUMN expires_at TEXT;
