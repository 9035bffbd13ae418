-- Idempotency-Key records: the first response to a request, per caller and
-- key, replayed to repeats for 24 hours. status_code is NULL while the first
-- request runs; locked_until is when its lease ends (a crashed owner's key is
-- then taken over). Times are BIGINT microseconds since the Unix epoch.
CREATE TABLE idempotency_keys (
	user_id      TEXT NOT NULL,
	key          TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	status_code  INTEGER,
	content_type TEXT,
	body         BLOB,
	created_at   BIGINT NOT NULL,
	locked_until BIGINT NOT NULL,
	PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
