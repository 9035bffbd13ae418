-- Ticket lists (an event's registrants, a buyer's tickets) run in order
-- then in the order the attendees were named: order_id, position, id.
DROP INDEX tickets_event;
CREATE INDEX tickets_event ON tickets (event_id, order_id, position, id);
