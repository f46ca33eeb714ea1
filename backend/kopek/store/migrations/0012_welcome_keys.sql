-- A new shop's owner sees its API keys at their first login, not on the sign-up's answer: sign-up
-- answers the same whether or not the email had an account, so it cannot show keys. One row per
-- owner who has not logged in yet; the first login claims (deletes) it and rolls fresh keys.
CREATE TABLE pending_welcomes (
    user_id    TEXT PRIMARY KEY REFERENCES users(id),
    created_at TEXT NOT NULL
);
