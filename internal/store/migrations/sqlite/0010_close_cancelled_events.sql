-- Migration 0006 added closed_at without closing the ticket types of events
-- cancelled before it: close them now, so that no late payment can take
-- their seats. Its trigger does not look at existing rows: one that broke
-- the rule before gets the quantity it really sold and held (else every
-- later update of it would be refused). And the trigger covered updates
-- only: inserts too, as PostgreSQL's CHECK does.
UPDATE ticket_types SET quantity = sold + held WHERE sold + held > quantity;
UPDATE ticket_types SET closed_at = (SELECT e.updated_at FROM events e WHERE e.id = ticket_types.event_id)
WHERE closed_at IS NULL AND event_id IN (SELECT id FROM events WHERE status = 'cancelled');
CREATE TRIGGER IF NOT EXISTS ticket_types_never_oversold_insert BEFORE INSERT ON ticket_types
WHEN NEW.sold + NEW.held > NEW.quantity
BEGIN
	SELECT RAISE(ABORT, 'ticket_types_never_oversold: sold + held would exceed quantity');
END;
