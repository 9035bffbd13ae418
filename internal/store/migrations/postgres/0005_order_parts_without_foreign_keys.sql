-- The parts of an order (items, holds, tickets, refunds) lose their foreign
-- keys to orders on PostgreSQL. Each check locks the referenced order row
-- (FOR KEY SHARE), and locking a row writes it: a WAL record and a dirtied
-- page per check. The checks run at the end of the statement that takes the
-- seats, so an onsale paid for them while holding the ticket type's row
-- lock: dropping the two of the hold statement made bench/onsale 8% faster.
-- The store writes an order and its parts in one transaction and never
-- deletes orders. SQLite keeps these keys: its checks take no lock and
-- write nothing.
ALTER TABLE order_items DROP CONSTRAINT IF EXISTS order_items_order_id_fkey;
ALTER TABLE holds DROP CONSTRAINT IF EXISTS holds_order_id_fkey;
ALTER TABLE tickets DROP CONSTRAINT IF EXISTS tickets_order_id_fkey;
ALTER TABLE refunds DROP CONSTRAINT IF EXISTS refunds_order_id_fkey;
