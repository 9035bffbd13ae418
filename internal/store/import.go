package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
	if err := tx.insertEvent(ctx, e); err != nil {
		return err
	}
	for i := range e.TicketTypes {
		t := &e.TicketTypes[i]
		t.EventID = e.ID
		t.SetDefaults(tx.now, e.StartsAt)
		if err := t.Validate(); err != nil {
			return err
		}
		if err := tx.insertTicketType(ctx, t); err != nil {
			return err
		}
	}
	return nil
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
