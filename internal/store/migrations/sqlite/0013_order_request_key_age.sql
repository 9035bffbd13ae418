-- The sweeper clears the request keys of orders older than a day every few
-- seconds; this index holds only the keyed orders, by age, so that it
-- reads the few that just turned a day old instead of every keyed order of
-- the last day.
CREATE INDEX orders_request_key_age ON orders (created_at) WHERE request_key IS NOT NULL;
