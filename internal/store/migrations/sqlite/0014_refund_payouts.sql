-- Refunds name their event, so that an organizer lists an event's refunds
-- (and those still owed: manual refunds are paid back by hand) without
-- reading every order, and record when the money went out.
ALTER TABLE refunds ADD COLUMN event_id TEXT NOT NULL DEFAULT '';
ALTER TABLE refunds ADD COLUMN refunded_at BIGINT;
UPDATE refunds SET event_id = (SELECT event_id FROM orders WHERE orders.id = refunds.order_id);
UPDATE refunds SET refunded_at = created_at WHERE status = 'succeeded';
CREATE INDEX refunds_event ON refunds (event_id, created_at, id);
CREATE INDEX refunds_event_status ON refunds (event_id, status, created_at, id);
