-- Each claim of an idempotency key gets its own owner token: only the
-- request holding it may complete, renew or abandon the key, so a request
-- that hung past its lease, whose key a retry then took over, can no
-- longer write its answer over the retry's, or delete the retry's key.
ALTER TABLE idempotency_keys ADD COLUMN owner TEXT NOT NULL DEFAULT '';
