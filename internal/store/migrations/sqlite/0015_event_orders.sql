-- An event's order list pages newest first, all orders or those of one
-- status: both walk an index in that order instead of sorting every order
-- of the event (the status one also serves what orders_event served).
DROP INDEX orders_event;
CREATE INDEX orders_event ON orders (event_id, status, created_at, id);
CREATE INDEX orders_event_created ON orders (event_id, created_at, id);
