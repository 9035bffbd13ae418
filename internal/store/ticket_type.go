package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/admit-events/admit"
)

const ticketTypeColumns = `t.id, t.event_id, t.name, t.kind, t.price_amount, t.currency, t.quantity, t.sold, t.held,
	t.sale_starts_at, t.sale_ends_at, t.min_per_order, t.max_per_order, t.created_at, t.closed_at IS NOT NULL`

// lapsedSeats is the seats of a ticket type's expired holds that no
// transaction has swept yet, for the ticket type t, with now as the
// placeholder given: they count as free at once.
func lapsedSeats(now string) string {
	return `(SELECT COALESCE(SUM(h.quantity), 0) FROM holds h WHERE h.ticket_type_id = t.id AND h.expires_at <= ` + now + `)`
}

// setAvailable sets t's exact availability: holds past their expiry stop
// counting now, swept or not; nothing is available once its event is
// cancelled.
func setAvailable(t *admit.TicketType, lapsed int64) {
	avail := max(t.Quantity-t.Sold-t.Held+lapsed, 0)
	if t.Closed {
		avail = 0
	}
	t.Available = &avail
}

func scanTicketType(s scanner) (admit.TicketType, error) { return scanTicketTypeAnd(s) }

// scanTicketTypeAnd scans ticketTypeColumns, then extra.
func scanTicketTypeAnd(s scanner, extra ...any) (admit.TicketType, error) {
	var t admit.TicketType
	var starts, ends, created int64
	err := s.Scan(append([]any{&t.ID, &t.EventID, &t.Name, &t.Kind, &t.Price.Amount, &t.Price.Currency, &t.Quantity, &t.Sold, &t.Held,
		&starts, &ends, &t.MinPerOrder, &t.MaxPerOrder, &created, &t.Closed}, extra...)...)
	t.SaleStartsAt, t.SaleEndsAt, t.CreatedAt = fromTS(starts, time.UTC), fromTS(ends, time.UTC), fromTS(created, time.UTC)
	return t, err
}

// attachTicketTypes loads the ticket types of events in one query, in the
// order they were created. With exact, each carries its available count.
func attachTicketTypes(ctx context.Context, q queryer, events []admit.Event, exact bool, now time.Time) error {
	if len(events) == 0 {
		return nil
	}
	byID := make(map[string]*admit.Event, len(events))
	ids := make([]any, len(events))
	for i := range events {
		byID[events[i].ID] = &events[i]
		ids[i] = events[i].ID
	}
	var qb query
	columns := ticketTypeColumns
	if exact {
		columns += ", " + lapsedSeats(qb.arg(ts(now)))
	}
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM ticket_types t WHERE t.event_id IN `+qb.in(ids...)+
		` ORDER BY t.event_id, t.created_at, t.id`, qb.args...)
	if err != nil {
		return fmt.Errorf("store: ticket types: %w", err)
	}
	_, err = scanAll(rows, func(s scanner) (struct{}, error) {
		var lapsed int64
		extra := []any{}
		if exact {
			extra = append(extra, &lapsed)
		}
		t, err := scanTicketTypeAnd(s, extra...)
		if err != nil {
			return struct{}{}, err
		}
		e := byID[t.EventID]
		t.SaleStartsAt, t.SaleEndsAt = inZoneOf(e, t.SaleStartsAt), inZoneOf(e, t.SaleEndsAt)
		if exact {
			setAvailable(&t, lapsed)
		}
		e.TicketTypes = append(e.TicketTypes, t)
		return struct{}{}, nil
	})
	return err
}

// insertTicketType stores a new, validated ticket type with a new id.
func (tx *Tx) insertTicketType(ctx context.Context, t *admit.TicketType) error {
	t.ID, t.CreatedAt = newID("tkt"), tx.now
	_, err := tx.ExecContext(ctx, `INSERT INTO ticket_types (id, event_id, name, kind, price_amount, currency, quantity,
		sale_starts_at, sale_ends_at, min_per_order, max_per_order, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		t.ID, t.EventID, t.Name, t.Kind, t.Price.Amount, t.Price.Currency, t.Quantity,
		ts(t.SaleStartsAt), ts(t.SaleEndsAt), t.MinPerOrder, t.MaxPerOrder, ts(tx.now))
	if err != nil {
		return fmt.Errorf("store: insert ticket type: %w", translate(err))
	}
	return nil
}

func inZoneOf(e *admit.Event, t time.Time) time.Time { return t.In(e.StartsAt.Location()) }

// CreateTicketType adds a ticket type to an event that is not cancelled.
func (db *DB) CreateTicketType(ctx context.Context, t *admit.TicketType) error {
	return db.inTx(ctx, func(tx *Tx) error {
		// Read the event's status under the lock its cancellation takes
		// first (closeEvent): the new type is closed with the others, or
		// refused.
		if err := tx.lockTicketTypes(ctx, t.EventID, false); err != nil {
			return err
		}
		e, err := tx.managedEvent(ctx, t.EventID)
		if err != nil {
			return err
		}
		if e.Status == admit.EventCancelled {
			return admit.Errorf(admit.ECONFLICT, "the event is cancelled")
		}
		t.SetDefaults(tx.now, e.StartsAt)
		if err := t.Validate(); err != nil {
			return err
		}
		if err := tx.insertTicketType(ctx, t); err != nil {
			return err
		}
		avail := t.Quantity
		t.Available = &avail
		t.SaleStartsAt, t.SaleEndsAt = inZoneOf(e, t.SaleStartsAt), inZoneOf(e, t.SaleEndsAt)
		return nil
	})
}

// UpdateTicketType changes a ticket type; its quantity cannot drop below
// what is sold, and its currency cannot change once something is sold.
func (db *DB) UpdateTicketType(ctx context.Context, eventID, id string, u admit.TicketTypeUpdate) (*admit.TicketType, error) {
	var t admit.TicketType
	err := db.inTx(ctx, func(tx *Tx) error {
		e, err := tx.managedEvent(ctx, eventID)
		if err != nil {
			return err
		}
		if e.Status == admit.EventCancelled {
			return admit.Errorf(admit.ECONFLICT, "the event is cancelled")
		}
		// Lapsed holds are swept first (holds, then the ticket type row: the
		// order of every transaction), so that they do not count against a
		// smaller quantity.
		swept, _, err := tx.takeHolds(ctx, id, "")
		if err != nil {
			return err
		}
		if t, err = tx.lockedTicketType(ctx, eventID, id); err != nil {
			return err
		}
		t.Held -= swept
		if u.Price != nil && u.Price.Currency != t.Price.Currency && t.Sold > 0 {
			return admit.Errorf(admit.ECONFLICT, "the currency cannot change once tickets are sold")
		}
		u.Apply(&t)
		if err := t.Validate(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE ticket_types SET name = $2, kind = $3, price_amount = $4, currency = $5, quantity = $6,
			sale_starts_at = $7, sale_ends_at = $8, min_per_order = $9, max_per_order = $10, held = held - $11 WHERE id = $1`,
			t.ID, t.Name, t.Kind, t.Price.Amount, t.Price.Currency, t.Quantity,
			ts(t.SaleStartsAt), ts(t.SaleEndsAt), t.MinPerOrder, t.MaxPerOrder, swept)
		if err != nil {
			return fmt.Errorf("store: update ticket type: %w", translate(err))
		}
		setAvailable(&t, 0) // no lapsed hold is left
		t.SaleStartsAt, t.SaleEndsAt = inZoneOf(e, t.SaleStartsAt), inZoneOf(e, t.SaleEndsAt)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// DeleteTicketType removes a ticket type nobody has ordered.
func (db *DB) DeleteTicketType(ctx context.Context, eventID, id string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		e, err := tx.managedEvent(ctx, eventID)
		if err != nil {
			return err
		}
		t, err := tx.lockedTicketType(ctx, eventID, id)
		if err != nil {
			return err
		}
		if e.Status == admit.EventPublished {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ticket_types WHERE event_id = $1`, eventID).Scan(&n); err != nil {
				return fmt.Errorf("store: delete ticket type: %w", err)
			}
			if n == 1 {
				return admit.Errorf(admit.ECONFLICT, "a published event needs a ticket type: add another first, or cancel the event")
			}
		}
		var ordered int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM order_items WHERE ticket_type_id = $1`, t.ID).Scan(&ordered); err != nil {
			return fmt.Errorf("store: delete ticket type: %w", err)
		}
		if ordered > 0 || t.Sold > 0 {
			return admit.Errorf(admit.ECONFLICT, "this ticket type has orders: set its quantity to what is sold instead")
		}
		return deleteRow(ctx, tx, "ticket_types", id, "ticket type", "tickets of this type are sold")
	})
}

// lockedTicketType loads a ticket type with its row locked for change, so
// that what is checked against its sold and held counts stays true until
// commit: orders wait for the change, and then see it.
func (tx *Tx) lockedTicketType(ctx context.Context, eventID, id string) (admit.TicketType, error) {
	t, err := scanTicketType(tx.QueryRowContext(ctx, `SELECT `+ticketTypeColumns+` FROM ticket_types t WHERE t.id = $1 AND t.event_id = $2`+
		tx.db.engine.forUpdate("t"), id, eventID))
	if errors.Is(err, sql.ErrNoRows) {
		return t, admit.Errorf(admit.ENOTFOUND, "no ticket type %q in this event", id)
	}
	if err != nil {
		return t, fmt.Errorf("store: find ticket type: %w", err)
	}
	return t, nil
}
