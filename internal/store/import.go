package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/admit-events/admit"
)

// ImportEvents stores many published events with their ticket types in one
// transaction, for bulk loads such as generated benchmark catalogues. Each
// event must name an existing organization, city and venue. Admins only.
func (db *DB) ImportEvents(ctx context.Context, events []admit.Event) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *Tx) error {
		for i := range events {
			if err := tx.importEvent(ctx, &events[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

func (tx *Tx) importEvent(ctx context.Context, e *admit.Event) error {
	e.SetRegistrationDefaults(tx.db.holdMinutes())
	if err := e.Validate(); err != nil {
		return err
	}
	if err := tx.placeEvent(ctx, e); err != nil {
		return err
	}
	e.ID, e.Status = newID("evt"), admit.EventPublished
	tags, _ := json.Marshal(e.Tags)
	_, err := tx.ExecContext(ctx, `INSERT INTO events (id, organization_id, title, description, category, category_key, tags,
		city_id, country, location_id, starts_at, ends_at, start_date, time_zone, status, stream_url, popularity, created_at, updated_at,
		payment_provider, hold_minutes, refund_until_hours_before_start)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, $19, $20, $21)`,
		e.ID, e.OrganizationID, e.Title, e.Description, e.Category, categoryKey(e.Category), string(tags),
		e.CityID, e.Country, e.LocationID, ts(e.StartsAt), ts(e.EndsAt), e.StartsAt.Format(time.DateOnly),
		e.TimeZone, e.Status, e.StreamURL, e.Popularity, ts(tx.now), e.PaymentProvider, e.HoldMinutes, e.RefundUntilHoursBeforeStart)
	if err != nil {
		return fmt.Errorf("store: import event: %w", translate(err))
	}
	for i := range e.TicketTypes {
		t := &e.TicketTypes[i]
		t.EventID = e.ID
		t.SetDefaults(tx.now, e.StartsAt)
		if err := t.Validate(); err != nil {
			return err
		}
		t.ID = newID("tkt")
		_, err := tx.ExecContext(ctx, `INSERT INTO ticket_types (id, event_id, name, kind, price_amount, currency, quantity,
			sale_starts_at, sale_ends_at, min_per_order, max_per_order, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			t.ID, t.EventID, t.Name, t.Kind, t.Price.Amount, t.Price.Currency, t.Quantity,
			ts(t.SaleStartsAt), ts(t.SaleEndsAt), t.MinPerOrder, t.MaxPerOrder, ts(tx.now))
		if err != nil {
			return fmt.Errorf("store: import ticket type: %w", translate(err))
		}
	}
	return tx.db.engine.indexEvent(ctx, tx, e.ID)
}

// OrganizationID returns the id of the organization with name: ENOTFOUND.
func (db *DB) OrganizationID(ctx context.Context, name string) (string, error) {
	var id string
	err := db.primary.QueryRowContext(ctx, `SELECT id FROM organizations WHERE name = $1`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", admit.Errorf(admit.ENOTFOUND, "no organization named %q", name)
	}
	if err != nil {
		return "", fmt.Errorf("store: organization: %w", err)
	}
	return id, nil
}

// Analyze refreshes the planner's statistics after a bulk load.
func (db *DB) Analyze(ctx context.Context) error {
	_, err := db.primary.ExecContext(ctx, `ANALYZE`)
	return err
}
