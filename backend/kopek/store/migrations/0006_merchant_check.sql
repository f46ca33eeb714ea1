-- A merchant's optional pre-check: Kopek asks the shop before relaying an attempt.

ALTER TABLE merchants ADD COLUMN check_url TEXT;
ALTER TABLE merchants ADD COLUMN check_on_timeout TEXT NOT NULL DEFAULT 'allow'
    CHECK (check_on_timeout IN ('allow', 'refuse'));
