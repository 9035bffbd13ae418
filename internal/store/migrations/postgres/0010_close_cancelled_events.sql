-- Migration 0006 added closed_at without closing the ticket types of events
-- cancelled before it: close them now, so that no late payment can take
-- their seats.
UPDATE ticket_types t SET closed_at = e.updated_at FROM events e
WHERE e.id = t.event_id AND e.status = 'cancelled' AND t.closed_at IS NULL;
