-- The reconciler asks providers about attempts that sit too long; shops choose their wallets.

ALTER TABLE attempts ADD COLUMN next_check_at TEXT;
ALTER TABLE attempts ADD COLUMN checks INTEGER NOT NULL DEFAULT 0 CHECK (checks >= 0);
ALTER TABLE attempts ADD COLUMN resends INTEGER NOT NULL DEFAULT 0 CHECK (resends >= 0);
ALTER TABLE attempts ADD COLUMN last_resend_at TEXT;
-- Set when a provider's word disagrees with ours (another amount): a person must look.
ALTER TABLE attempts ADD COLUMN needs_review TEXT;

CREATE INDEX attempts_due_for_check ON attempts (next_check_at)
    WHERE status IN ('requires_confirmation', 'processing');

CREATE INDEX attempts_starting ON attempts (created_at) WHERE status = 'starting';

CREATE TABLE merchant_wallets (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    wallet      TEXT NOT NULL,
    enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (merchant_id, wallet)
);
