-- Which wallet account an attempt targets, as a keyed hash (never the number): wrong codes and
-- texted codes are limited per account across payments (payments/guesses.py).
ALTER TABLE attempts ADD COLUMN account_key TEXT;
