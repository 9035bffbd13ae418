-- An order placed under an Idempotency-Key records it (a digest of the key
-- and the request: admit.NewContextWithRequestKey), unique per buyer, so
-- that a retry of a request whose first attempt had an unknown outcome (its
-- commit cut off, or still running past its lease) gets that order back
-- instead of placing a second one. Cleared after 24 hours, when the key is
-- forgotten; the index holds only the orders of the last day's keys.
ALTER TABLE orders ADD COLUMN request_key TEXT;
CREATE UNIQUE INDEX orders_request_key ON orders (user_id, request_key) WHERE request_key IS NOT NULL;
