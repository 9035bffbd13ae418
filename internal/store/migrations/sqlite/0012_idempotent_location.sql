-- A replayed answer keeps the Location of the first: a retried create says
-- where the resource is, as the first answer did.
ALTER TABLE idempotency_keys ADD COLUMN location TEXT NOT NULL DEFAULT '';
