-- An order's items and tickets keep the order they were asked in, so that
-- the attendees named in an order get its tickets in that order, and read
-- back in it. Rows from before this migration all have position 0 and fall
-- back to id order.
ALTER TABLE order_items ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
