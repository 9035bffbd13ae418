-- A cancelled event's ticket types are closed for good: closed_at is set,
-- row by row, by the transaction that cancels the event, and every
-- statement that takes seats requires it NULL in its conditional UPDATE.
-- An order racing the cancellation therefore either commits first (and is
-- cancelled with the others) or finds its ticket type closed; a payment
-- arriving after the cancellation cannot take seats again.
ALTER TABLE ticket_types ADD COLUMN closed_at BIGINT;

-- The inventory rule, enforced by the database itself as the last line: no
-- statement, whatever its bug, can leave more seats sold and held than
-- there are. A row that broke it before (an unlocked quantity edit could)
-- gets the quantity it really sold and held, or the constraint could not
-- be added. (This repair was added to the migration after it first
-- shipped: a database that applied it without the repair had no such row.)
UPDATE ticket_types SET quantity = sold + held WHERE sold + held > quantity;
ALTER TABLE ticket_types ADD CONSTRAINT ticket_types_never_oversold CHECK (sold + held <= quantity);
