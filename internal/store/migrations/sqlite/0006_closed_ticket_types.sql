-- A cancelled event's ticket types are closed for good: closed_at is set by
-- the transaction that cancels the event, and every statement that takes
-- seats requires it NULL in its conditional UPDATE, so a payment arriving
-- after the cancellation cannot take seats again.
ALTER TABLE ticket_types ADD COLUMN closed_at BIGINT;

-- The inventory rule, enforced by the database itself as the last line: no
-- statement, whatever its bug, can leave more seats sold and held than
-- there are. (SQLite cannot add a CHECK to an existing table.) A row that
-- broke it before gets the quantity it really sold and held (added after
-- the migration first shipped, as on PostgreSQL).
UPDATE ticket_types SET quantity = sold + held WHERE sold + held > quantity;
CREATE TRIGGER ticket_types_never_oversold BEFORE UPDATE OF quantity, sold, held ON ticket_types
WHEN NEW.sold + NEW.held > NEW.quantity
BEGIN
	SELECT RAISE(ABORT, 'ticket_types_never_oversold: sold + held would exceed quantity');
END;
