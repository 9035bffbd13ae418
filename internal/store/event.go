package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/admit-events/admit"
)

var _ admit.EventService = (*DB)(nil)

const eventColumns = `e.id, e.organization_id, e.title, e.description, e.category, e.tags, e.city_id, e.country,
	e.location_id, e.starts_at, e.ends_at, e.time_zone, e.status, e.stream_url, e.popularity, e.created_at, e.updated_at,
	e.payment_provider, e.hold_minutes, e.refund_until_hours_before_start`

// eventRow is an event as scanned, with the sort keys a cursor needs.
type eventRow struct {
	admit.Event
	startsAt int64 // the stored form of StartsAt, for cursors
}

func scanEvent(s scanner) (eventRow, error) {
	var r eventRow
	e := &r.Event
	var tags string
	var ends, created, updated int64
	err := s.Scan(&e.ID, &e.OrganizationID, &e.Title, &e.Description, &e.Category, &tags, &e.CityID, &e.Country,
		&e.LocationID, &r.startsAt, &ends, &e.TimeZone, &e.Status, &e.StreamURL, &e.Popularity, &created, &updated,
		&e.PaymentProvider, &e.HoldMinutes, &e.RefundUntilHoursBeforeStart)
	if err != nil {
		return r, err
	}
	loc, err := admit.LoadZone(e.TimeZone)
	if err != nil {
		loc = time.UTC // a zone the running tzdata lacks: show UTC rather than fail
	}
	e.StartsAt, e.EndsAt = fromTS(r.startsAt, loc), fromTS(ends, loc)
	e.CreatedAt, e.UpdatedAt = fromTS(created, time.UTC), fromTS(updated, time.UTC)
	if err := json.Unmarshal([]byte(tags), &e.Tags); err != nil || e.Tags == nil {
		e.Tags = []string{}
	}
	e.TicketTypes = []admit.TicketType{}
	return r, nil
}

// ListEvents returns a page of published upcoming events matching f, read
// from a replica when there is one. With f.OrganizationID and a caller who
// manages it, that organization's events in every status.
func (db *DB) ListEvents(ctx context.Context, f admit.EventFilter) ([]admit.Event, string, error) {
	var q query
	src := db.replica()
	if f.OrganizationID != "" && admit.UserFromContext(ctx).CanManageOrganization(f.OrganizationID) {
		src = db.primary // the organizer's own view reads their own writes
	} else {
		upcoming(&q, db.Now())
	}
	if err := db.eventConditions(ctx, src, &q, f); err != nil {
		return nil, "", err
	}
	order, sortName := "e.starts_at, e.id", string(admit.SortStartsAt)
	if f.Sort == admit.SortPopularity {
		order, sortName = "e.popularity DESC, e.id DESC", string(admit.SortPopularity)
	}
	if c := f.Page.Cursor; c != nil {
		v, err := c.IntValue()
		if err != nil {
			return nil, "", err
		}
		if sortName == string(admit.SortPopularity) {
			q.and("(e.popularity, e.id) < (" + q.arg(v) + ", " + q.arg(c.ID) + ")")
		} else {
			q.and("(e.starts_at, e.id) > (" + q.arg(v) + ", " + q.arg(c.ID) + ")")
		}
	}
	limit := pageLimit(f.Page)
	sqlText := `SELECT ` + eventColumns + ` FROM events e` + q.whereSQL() + ` ORDER BY ` + order + ` LIMIT ` + strconv.Itoa(limit+1)
	db.trace(sqlText, q.args)
	rows, err := src.QueryContext(ctx, sqlText, q.args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list events: %w", err)
	}
	found, err := scanAll(rows, scanEvent)
	if err != nil {
		return nil, "", err
	}
	found, next := nextCursor(found, limit, sortName, func(r eventRow) (string, string) {
		if sortName == string(admit.SortPopularity) {
			return strconv.FormatInt(r.Popularity, 10), r.ID
		}
		return strconv.FormatInt(r.startsAt, 10), r.ID
	})
	events := make([]admit.Event, len(found))
	for i := range found {
		events[i] = found[i].Event
	}
	if err := attachTicketTypes(ctx, src, events, false, db.Now()); err != nil {
		return nil, "", err
	}
	return events, next, nil
}

// eventConditions adds f's filters to q.
func (db *DB) eventConditions(ctx context.Context, src queryer, q *query, f admit.EventFilter) error {
	if f.OrganizationID != "" {
		q.and("e.organization_id = " + q.arg(f.OrganizationID))
	}
	if f.CityID != "" {
		q.and("e.city_id = " + q.arg(f.CityID))
	}
	if f.LocationID != "" {
		q.and("e.location_id = " + q.arg(f.LocationID))
	}
	if f.Country != "" {
		q.and("e.country = " + q.arg(strings.ToUpper(f.Country)))
	}
	if f.Category != "" {
		q.and("e.category_key = " + q.arg(categoryKey(f.Category)))
	}
	if f.FromDate != "" {
		q.and("e.start_date >= " + q.arg(f.FromDate))
	}
	if f.ToDate != "" {
		q.and("e.start_date <= " + q.arg(f.ToDate))
	}
	if f.Query != "" {
		terms := searchTerms(f.Query)
		if len(terms) == 0 {
			return admit.Invalid(admit.FieldError{Location: "query.q", Message: "must contain a letter or a digit"})
		}
		cond, err := db.engine.searchCondition(ctx, src, terms, q.arg)
		if err != nil {
			return err
		}
		q.and(cond)
	}
	var price []string
	if f.Currency != "" {
		price = append(price, "t.currency = "+q.arg(f.Currency))
	}
	if f.MinPrice != nil {
		price = append(price, "t.price_amount >= "+q.arg(*f.MinPrice))
	}
	if f.MaxPrice != nil {
		price = append(price, "t.price_amount <= "+q.arg(*f.MaxPrice))
	}
	if f.Free {
		price = append(price, "t.price_amount = 0")
	}
	if len(price) > 0 {
		q.and("EXISTS (SELECT 1 FROM ticket_types t WHERE t.event_id = e.id AND " + strings.Join(price, " AND ") + ")")
	}
	return nil
}

func categoryKey(c string) string { return strings.ToLower(strings.TrimSpace(c)) }

// FindEvent returns an event with its ticket types and exact availability,
// always from the primary. Drafts are shown to their managers only.
func (db *DB) FindEvent(ctx context.Context, id string) (*admit.Event, error) {
	e, err := findEvent(ctx, db.primary, id)
	if err != nil {
		return nil, err
	}
	if e.Status == admit.EventDraft && !admit.UserFromContext(ctx).CanManageOrganization(e.OrganizationID) {
		return nil, admit.Errorf(admit.ENOTFOUND, "no event with id %q", id)
	}
	events := []admit.Event{*e}
	if err := attachTicketTypes(ctx, db.primary, events, true, db.Now()); err != nil {
		return nil, err
	}
	return &events[0], nil
}

func findEvent(ctx context.Context, q queryer, id string) (*admit.Event, error) {
	r, err := scanEvent(q.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events e WHERE e.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, admit.Errorf(admit.ENOTFOUND, "no event with id %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: find event: %w", err)
	}
	return &r.Event, nil
}

// managedEvent loads an event the caller may change.
func (tx *Tx) managedEvent(ctx context.Context, id string) (*admit.Event, error) {
	if _, err := admit.RequireUser(ctx); err != nil {
		return nil, err
	}
	e, err := findEvent(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	u := admit.UserFromContext(ctx)
	if !u.CanManageOrganization(e.OrganizationID) {
		if e.Status == admit.EventDraft {
			return nil, admit.Errorf(admit.ENOTFOUND, "no event with id %q", id) // drafts are not public
		}
		return nil, admit.Errorf(admit.EFORBIDDEN, "only the event's organizers and admins may change it")
	}
	return e, nil
}

// CreateEvent stores a new draft event.
func (db *DB) CreateEvent(ctx context.Context, e *admit.Event) error {
	u, err := requireOrganizer(ctx)
	if err != nil {
		return err
	}
	if e.OrganizationID, err = organizationFor(u, e.OrganizationID, true); err != nil {
		return err
	}
	if e.Tags == nil {
		e.Tags = []string{}
	}
	e.SetRegistrationDefaults(db.holdMinutes())
	if err := e.Validate(); err != nil {
		return err
	}
	if err := db.checkProvider(e.PaymentProvider); err != nil {
		return err
	}
	e.ID, e.Status, e.TicketTypes = newID("evt"), admit.EventDraft, []admit.TicketType{}
	return db.inTx(ctx, func(tx *Tx) error {
		if err := tx.checkOrganization(ctx, e.OrganizationID); err != nil {
			return err
		}
		if err := tx.placeEvent(ctx, e); err != nil {
			return err
		}
		return tx.insertEvent(ctx, e)
	})
}

// placeEvent checks the event's city and venue and sets its country, zone,
// and the zone of its times.
func (tx *Tx) placeEvent(ctx context.Context, e *admit.Event) error {
	c, err := findCity(ctx, tx, e.CityID)
	if err != nil {
		return admit.Invalid(admit.FieldError{Location: "body.city_id", Message: "no such city"})
	}
	l, err := findLocation(ctx, tx, e.LocationID)
	if err != nil {
		return admit.Invalid(admit.FieldError{Location: "body.location_id", Message: "no such location"})
	}
	if l.CityID != c.ID {
		return admit.Invalid(admit.FieldError{Location: "body.location_id", Message: "is not in the event's city"})
	}
	if l.OrganizationID != "" && l.OrganizationID != e.OrganizationID {
		return admit.Invalid(admit.FieldError{Location: "body.location_id", Message: "belongs to another organization"})
	}
	loc, err := admit.LoadZone(c.TimeZone)
	if err != nil {
		return fmt.Errorf("store: city %s zone: %w", c.ID, err)
	}
	e.Country, e.TimeZone = c.Country, c.TimeZone
	e.StartsAt, e.EndsAt = e.StartsAt.In(loc), e.EndsAt.In(loc)
	return nil
}

// insertEvent stores a placed, validated event with its id and status set,
// and indexes it for search.
func (tx *Tx) insertEvent(ctx context.Context, e *admit.Event) error {
	e.CreatedAt, e.UpdatedAt = tx.now, tx.now
	tags, _ := json.Marshal(e.Tags)
	_, err := tx.ExecContext(ctx, `INSERT INTO events (id, organization_id, title, description, category, category_key, tags,
		city_id, country, location_id, starts_at, ends_at, start_date, time_zone, status, stream_url, popularity, created_at, updated_at,
		payment_provider, hold_minutes, refund_until_hours_before_start)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, $19, $20, $21)`,
		e.ID, e.OrganizationID, e.Title, e.Description, e.Category, categoryKey(e.Category), string(tags),
		e.CityID, e.Country, e.LocationID, ts(e.StartsAt), ts(e.EndsAt), e.StartsAt.Format(time.DateOnly),
		e.TimeZone, e.Status, e.StreamURL, e.Popularity, ts(tx.now), e.PaymentProvider, e.HoldMinutes, e.RefundUntilHoursBeforeStart)
	if err != nil {
		return fmt.Errorf("store: insert event: %w", translate(err))
	}
	return tx.db.engine.indexEvent(ctx, tx, e.ID)
}

// checkProvider refuses a payment provider this server cannot take
// payments with: the event's orders could never be paid.
func (db *DB) checkProvider(name string) error {
	if name != admit.ProviderStripe || db.StripeEnabled {
		return nil
	}
	var p admit.Problems
	p.Add("body.payment_provider", "stripe is not configured on this server (it needs ADMIT_STRIPE_SECRET_KEY and ADMIT_STRIPE_WEBHOOK_SECRET): use manual")
	return p.Err()
}

// UpdateEvent changes an event that is not cancelled.
func (db *DB) UpdateEvent(ctx context.Context, id string, u admit.EventUpdate) (*admit.Event, error) {
	var e *admit.Event
	err := db.inTx(ctx, func(tx *Tx) (err error) {
		if e, err = tx.managedEvent(ctx, id); err != nil {
			return err
		}
		if e.Status == admit.EventCancelled {
			return admit.Errorf(admit.ECONFLICT, "the event is cancelled")
		}
		u.Apply(e)
		if err := e.Validate(); err != nil {
			return err
		}
		if u.PaymentProvider != nil {
			if err := db.checkProvider(e.PaymentProvider); err != nil {
				return err
			}
		}
		if err := tx.placeEvent(ctx, e); err != nil {
			return err
		}
		e.UpdatedAt = tx.now
		tags, _ := json.Marshal(e.Tags)
		_, err = tx.ExecContext(ctx, `UPDATE events SET title = $2, description = $3, category = $4, category_key = $5, tags = $6,
			city_id = $7, country = $8, location_id = $9, starts_at = $10, ends_at = $11, start_date = $12, time_zone = $13,
			stream_url = $14, updated_at = $15, payment_provider = $16, hold_minutes = $17, refund_until_hours_before_start = $18
			WHERE id = $1`,
			e.ID, e.Title, e.Description, e.Category, categoryKey(e.Category), string(tags), e.CityID, e.Country, e.LocationID,
			ts(e.StartsAt), ts(e.EndsAt), e.StartsAt.Format(time.DateOnly), e.TimeZone, e.StreamURL, ts(tx.now),
			e.PaymentProvider, e.HoldMinutes, e.RefundUntilHoursBeforeStart)
		if err != nil {
			return fmt.Errorf("store: update event: %w", translate(err))
		}
		return db.engine.indexEvent(ctx, tx, e.ID)
	})
	if err != nil {
		return nil, err
	}
	return db.FindEvent(ctx, e.ID)
}

// DeleteEvent removes an event nobody ordered from. Its ticket types are
// locked (and closed) before its orders are counted, as closeEvent does:
// an order taking their seats at that moment commits first and is counted,
// rather than committing after the count and outliving its event.
func (db *DB) DeleteEvent(ctx context.Context, id string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.managedEvent(ctx, id); err != nil {
			return err
		}
		if err := tx.lockTicketTypes(ctx, id, true); err != nil {
			return err
		}
		if err := tx.closeTicketTypes(ctx, id); err != nil {
			return err
		}
		var orders int64
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM orders WHERE event_id = $1`, id).Scan(&orders); err != nil {
			return fmt.Errorf("store: delete event: %w", err)
		}
		if orders > 0 {
			return admit.Errorf(admit.ECONFLICT, "the event has orders: cancel it instead")
		}
		if err := db.engine.unindexEvent(ctx, tx, id); err != nil {
			return fmt.Errorf("store: delete event: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ticket_types WHERE event_id = $1`, id); err != nil {
			return fmt.Errorf("store: delete event: %w", translate(err))
		}
		return deleteRow(ctx, tx, "events", id, "event", "it has orders: cancel it instead")
	})
}

// PublishEvent makes a draft public; it needs at least one ticket type.
func (db *DB) PublishEvent(ctx context.Context, id string) (*admit.Event, error) {
	return db.setStatus(ctx, id, admit.EventPublished, func(tx *Tx, e *admit.Event) error {
		if e.Status != admit.EventDraft {
			return admit.Errorf(admit.ECONFLICT, "only a draft can be published; this event is %s", e.Status)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ticket_types WHERE event_id = $1`, id).Scan(&n); err != nil {
			return fmt.Errorf("store: publish: %w", err)
		}
		if n == 0 {
			return admit.Errorf(admit.ECONFLICT, "add a ticket type before publishing")
		}
		return nil
	})
}

// CancelEvent cancels an event for good. Its ticket types close in the
// same transaction, so that no order can take their seats any more; then
// every order still pending or paid is settled (CancelEventOrders). The
// event.cancelled outbox row has the dispatcher finish that if this
// process dies first.
func (db *DB) CancelEvent(ctx context.Context, id string) (*admit.Event, error) {
	e, err := db.closeEvent(ctx, id)
	if err != nil {
		return nil, err
	}
	// Committed: finish even if the caller stops waiting. Should settling
	// fail here, the event is cancelled all the same, and the outbox row's
	// handler settles the rest (and reports, should it fail too).
	if err := db.CancelEventOrders(context.WithoutCancel(ctx), id); err != nil {
		slog.ErrorContext(ctx, "settle the orders of a cancelled event; the outbox will retry", "event_id", id, "err", err)
	}
	return e, nil
}

// closeEvent marks an event cancelled and closes its ticket types, in id
// order (which waits for the orders taking their seats at the moment).
// It first takes the event's ticket type lock exclusively, so that a ticket
// type being added (CreateTicketType holds that lock shared) is committed
// and listed, or added after and refused: the event is cancelled by then.
// Orders never take that lock, so it adds no deadlock to theirs.
func (db *DB) closeEvent(ctx context.Context, id string) (*admit.Event, error) {
	return db.setStatus(ctx, id, admit.EventCancelled, func(tx *Tx, e *admit.Event) error {
		if e.Status == admit.EventCancelled {
			return admit.Errorf(admit.ECONFLICT, "the event is already cancelled")
		}
		if err := tx.lockTicketTypes(ctx, id, true); err != nil {
			return err
		}
		if err := tx.closeTicketTypes(ctx, id); err != nil {
			return err
		}
		return tx.outbox(ctx, "event.cancelled", id, map[string]any{"event_id": id})
	})
}

// closeTicketTypes closes an event's open ticket types, one row at a time
// in id order (the order in which every transaction locks them): each
// UPDATE waits for the orders taking that row's seats at the moment, which
// then commit before the event's orders are listed, and every later order
// finds the row closed.
func (tx *Tx) closeTicketTypes(ctx context.Context, eventID string) error {
	ids, err := queryIDs(ctx, tx, `SELECT id FROM ticket_types WHERE event_id = $1 AND closed_at IS NULL ORDER BY id`, eventID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE ticket_types SET closed_at = $2 WHERE id = $1`, id, ts(tx.now)); err != nil {
			return fmt.Errorf("store: close ticket types: %w", err)
		}
	}
	return nil
}

// setStatus moves an event to status to after check approves; the change
// applies only if no one else changed the status meanwhile.
func (db *DB) setStatus(ctx context.Context, id string, to admit.EventStatus, check func(*Tx, *admit.Event) error) (*admit.Event, error) {
	err := db.inTx(ctx, func(tx *Tx) error {
		e, err := tx.managedEvent(ctx, id)
		if err != nil {
			return err
		}
		if err := check(tx, e); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE events SET status = $2, updated_at = $3 WHERE id = $1 AND status = $4`, id, to, ts(tx.now), e.Status)
		if err != nil {
			return fmt.Errorf("store: event status: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return admit.Errorf(admit.ECONFLICT, "the event's status changed meanwhile; look at it again")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return db.FindEvent(context.WithoutCancel(ctx), id) // committed: answer even if the caller left
}

// lockTicketTypes takes, on PostgreSQL, the lock that serializes adding
// ticket types to an event (shared) with cancelling it (exclusive), until
// the transaction ends: an advisory lock, in the two-key space (the
// migrations' lock is in the one-key space, which does not overlap).
// SQLite's write transactions are exclusive anyway.
func (tx *Tx) lockTicketTypes(ctx context.Context, eventID string, exclusive bool) error {
	if tx.db.engine != postgresEngine {
		return nil
	}
	fn := "pg_advisory_xact_lock_shared"
	if exclusive {
		fn = "pg_advisory_xact_lock"
	}
	if _, err := tx.ExecContext(ctx, `SELECT `+fn+`($1, hashtext($2))`, ticketTypesLock, eventID); err != nil {
		return fmt.Errorf("store: lock ticket types: %w", err)
	}
	return nil
}

// ticketTypesLock is the first key of lockTicketTypes' advisory locks.
const ticketTypesLock = 0x74747970 // "ttyp"

// reindexEvents refreshes the search documents of the events matching where.
func (tx *Tx) reindexEvents(ctx context.Context, where string, args ...any) error {
	ids, err := queryIDs(ctx, tx, `SELECT id FROM events WHERE `+where, args...)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := tx.db.engine.indexEvent(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}

// redateEvents recomputes the start_date of a city's events, the local date
// the date filters compare, after the city's zone changed.
func (tx *Tx) redateEvents(ctx context.Context, c *admit.City) error {
	loc, err := admit.LoadZone(c.TimeZone)
	if err != nil {
		return fmt.Errorf("store: city %s zone: %w", c.ID, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, starts_at FROM events WHERE city_id = $1`, c.ID)
	if err != nil {
		return fmt.Errorf("store: redate events: %w", err)
	}
	type start struct {
		id string
		at int64
	}
	starts, err := scanAll(rows, func(s scanner) (v start, err error) { return v, s.Scan(&v.id, &v.at) })
	if err != nil {
		return err
	}
	for _, s := range starts {
		if _, err := tx.ExecContext(ctx, `UPDATE events SET start_date = $2 WHERE id = $1`, s.id, fromTS(s.at, loc).Format(time.DateOnly)); err != nil {
			return fmt.Errorf("store: redate events: %w", err)
		}
	}
	return nil
}
