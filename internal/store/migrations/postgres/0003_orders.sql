-- Registration: payment settings per event, holds, orders, tickets, refunds
-- and the transactional outbox.
ALTER TABLE events ADD COLUMN payment_provider TEXT NOT NULL DEFAULT 'manual';
ALTER TABLE events ADD COLUMN hold_minutes BIGINT NOT NULL DEFAULT 10;
ALTER TABLE events ADD COLUMN refund_until_hours_before_start BIGINT NOT NULL DEFAULT 48;

-- held counts the seats of unexpired and not yet swept holds; sold + held
-- never exceeds quantity (checked by the conditional UPDATE that takes seats).
ALTER TABLE ticket_types ADD COLUMN held BIGINT NOT NULL DEFAULT 0 CHECK (held >= 0);

CREATE INDEX locations_name ON locations (name, id);

-- No foreign keys point at users, events or ticket types from here: on
-- PostgreSQL each would take a KEY SHARE lock on the referenced row, and
-- thousands of orders at once share-locking one event and one ticket type
-- (the row every order updates) turn every lock into a MultiXact. The
-- services refuse to delete events and ticket types that have orders.
CREATE TABLE orders (
	id              TEXT PRIMARY KEY,
	user_id         TEXT NOT NULL,
	event_id        TEXT NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'expired', 'cancelled', 'failed')),
	expires_at      BIGINT NOT NULL,
	total_amount    BIGINT NOT NULL,
	currency        TEXT NOT NULL,
	refunded_amount BIGINT NOT NULL DEFAULT 0,
	provider        TEXT NOT NULL,
	payment_ref     TEXT NOT NULL DEFAULT '',
	client_secret   TEXT NOT NULL DEFAULT '',
	attendees       TEXT NOT NULL DEFAULT '[]',
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL
);
CREATE INDEX orders_user ON orders (user_id, created_at, id);
CREATE INDEX orders_event ON orders (event_id, status);
CREATE INDEX orders_pending ON orders (status, expires_at);

CREATE TABLE order_items (
	order_id       TEXT NOT NULL REFERENCES orders (id),
	ticket_type_id TEXT NOT NULL,
	quantity       BIGINT NOT NULL CHECK (quantity > 0),
	unit_amount    BIGINT NOT NULL,
	PRIMARY KEY (order_id, ticket_type_id)
);
CREATE INDEX order_items_ticket_type ON order_items (ticket_type_id);

-- One row per ticket type of a pending order; deleted when the order is
-- paid, released or swept after expiry.
CREATE TABLE holds (
	order_id       TEXT NOT NULL REFERENCES orders (id),
	ticket_type_id TEXT NOT NULL,
	quantity       BIGINT NOT NULL CHECK (quantity > 0),
	expires_at     BIGINT NOT NULL,
	PRIMARY KEY (order_id, ticket_type_id)
);
CREATE INDEX holds_expiry ON holds (ticket_type_id, expires_at);

CREATE TABLE tickets (
	id             TEXT PRIMARY KEY,
	order_id       TEXT NOT NULL REFERENCES orders (id),
	event_id       TEXT NOT NULL,
	ticket_type_id TEXT NOT NULL,
	attendee_name  TEXT NOT NULL,
	attendee_email TEXT NOT NULL,
	status         TEXT NOT NULL CHECK (status IN ('valid', 'cancelled')),
	checked_in_at  BIGINT,
	created_at     BIGINT NOT NULL
);
CREATE INDEX tickets_order ON tickets (order_id, id);
CREATE INDEX tickets_event ON tickets (event_id, id);

CREATE TABLE refunds (
	id          TEXT PRIMARY KEY,
	order_id    TEXT NOT NULL REFERENCES orders (id),
	amount      BIGINT NOT NULL,
	currency    TEXT NOT NULL,
	status      TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
	provider_ref TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL
);
CREATE INDEX refunds_order ON refunds (order_id);

-- Webhook events already handled, so that a replay changes nothing.
CREATE TABLE webhook_events (
	provider    TEXT NOT NULL,
	event_id    TEXT NOT NULL,
	received_at BIGINT NOT NULL,
	PRIMARY KEY (provider, event_id)
);

-- The transactional outbox: one row per state change someone must hear of,
-- written in the transaction of the change, delivered at least once.
CREATE TABLE outbox (
	seq          BIGSERIAL PRIMARY KEY,
	topic        TEXT NOT NULL,
	aggregate_id TEXT NOT NULL,
	payload      TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	available_at BIGINT NOT NULL,
	attempts     BIGINT NOT NULL DEFAULT 0,
	delivered_at BIGINT,
	dead_at      BIGINT,
	last_error   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (delivered_at, dead_at, available_at);
CREATE INDEX outbox_aggregate ON outbox (aggregate_id, seq);
