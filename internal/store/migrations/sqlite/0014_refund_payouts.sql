-- Refunds name their event, so that an organizer lists an event's refunds
-- (and those still owed: manual refunds are paid back by hand) without
-- reading every order, and record when the money went out. Orders are
-- found by their payment, for refunds made in the provider's dashboard.
ALTER TABLE refunds ADD COLUMN event_id TEXT NOT NULL DEFAULT '';
ALTER TABLE refunds ADD COLUMN refunded_at BIGINT;
UPDATE refunds SET event_id = (SELECT event_id FROM orders WHERE orders.id = refunds.order_id);
-- Manual refunds were recorded as sent the moment they were asked for,
-- though nobody had paid them back: they become owed again, for the
-- organizer to pay (or confirm paid) and mark refunded.
UPDATE refunds SET status = 'pending', provider_ref = '' WHERE provider_ref = 'manual';
UPDATE refunds SET refunded_at = created_at WHERE status = 'succeeded';
CREATE INDEX refunds_event ON refunds (event_id, created_at, id);
CREATE INDEX refunds_event_status ON refunds (event_id, status, created_at, id);
CREATE INDEX orders_payment_ref ON orders (payment_ref) WHERE payment_ref <> '';
