package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/admit-events/admit"
)

var _ admit.GeoService = (*DB)(nil)

// ListCountries returns the ISO 3166-1 list by name.
func (db *DB) ListCountries(ctx context.Context) ([]admit.Country, error) {
	rows, err := db.replica().QueryContext(ctx, `SELECT code, name FROM countries ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: list countries: %w", err)
	}
	defer rows.Close()
	out := []admit.Country{}
	for rows.Next() {
		var c admit.Country
		if err := rows.Scan(&c.Code, &c.Name); err != nil {
			return nil, fmt.Errorf("store: list countries: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// upcoming adds the conditions selecting published events that have not
// ended; the lower bound on starts_at keeps the index range short.
func upcoming(q *query, now time.Time) {
	q.and("e.status = 'published'")
	q.and("e.starts_at > " + q.arg(ts(now.Add(-admit.MaxEventDuration))))
	q.and("e.ends_at > " + q.arg(ts(now)))
}

// ListCities returns the cities that have published upcoming events, by name.
func (db *DB) ListCities(ctx context.Context, f admit.CityFilter) ([]admit.City, string, error) {
	var q query
	upcoming(&q, db.Now())
	if f.Country != "" {
		q.and("c.country = " + q.arg(strings.ToUpper(f.Country))) // as ListEvents: "de" is DE
	}
	if c := f.Page.Cursor; c != nil {
		q.and("(c.name, c.id) > (" + q.arg(c.Value) + ", " + q.arg(c.ID) + ")")
	}
	limit := pageLimit(f.Page)
	sqlText := `
		SELECT c.id, c.name, c.country, c.time_zone, c.latitude, c.longitude, COUNT(*)
		FROM cities c JOIN events e ON e.city_id = c.id` + q.whereSQL() + `
		GROUP BY c.id, c.name, c.country, c.time_zone, c.latitude, c.longitude
		ORDER BY c.name, c.id LIMIT ` + fmt.Sprint(limit+1)
	db.trace(sqlText, q.args)
	rows, err := db.replica().QueryContext(ctx, sqlText, q.args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list cities: %w", err)
	}
	cities, err := scanAll(rows, scanCity)
	if err != nil {
		return nil, "", err
	}
	cities, next := nextCursor(cities, limit, "name", func(c admit.City) (string, string) { return c.Name, c.ID })
	return cities, next, nil
}

const cityColumns = `c.id, c.name, c.country, c.time_zone, c.latitude, c.longitude, 0`

func scanCity(s scanner) (admit.City, error) {
	var c admit.City
	var lat, lon sql.NullFloat64
	err := s.Scan(&c.ID, &c.Name, &c.Country, &c.TimeZone, &lat, &lon, &c.EventCount)
	c.Latitude, c.Longitude = nullFloat(lat), nullFloat(lon)
	return c, err
}

// FindCity returns a city: ENOTFOUND.
func (db *DB) FindCity(ctx context.Context, id string) (*admit.City, error) {
	return findCity(ctx, db.primary, id)
}

func findCity(ctx context.Context, q queryer, id string) (*admit.City, error) {
	c, err := scanCity(q.QueryRowContext(ctx, `SELECT `+cityColumns+` FROM cities c WHERE c.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, admit.Errorf(admit.ENOTFOUND, "no city with id %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: find city: %w", err)
	}
	return &c, nil
}

// CreateCity adds a city: admins only.
func (db *DB) CreateCity(ctx context.Context, c *admit.City) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	c.Normalize()
	if err := c.Validate(); err != nil {
		return err
	}
	c.ID = newID("cty")
	return db.inTx(ctx, func(tx *Tx) error {
		if err := tx.checkCountry(ctx, c.Country); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO cities (id, name, country, time_zone, latitude, longitude, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			c.ID, c.Name, c.Country, c.TimeZone, c.Latitude, c.Longitude, ts(tx.now))
		return cityWriteError(err)
	})
}

// UpdateCity changes a city: admins only. A new time zone moves its events' zone too.
func (db *DB) UpdateCity(ctx context.Context, id string, u admit.CityUpdate) (*admit.City, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var c *admit.City
	err := db.inTx(ctx, func(tx *Tx) (err error) {
		if c, err = findCity(ctx, tx, id); err != nil {
			return err
		}
		oldZone := c.TimeZone
		u.Apply(c)
		c.Normalize()
		if err := c.Validate(); err != nil {
			return err
		}
		if err := tx.checkCountry(ctx, c.Country); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE cities SET name = $2, country = $3, time_zone = $4, latitude = $5, longitude = $6 WHERE id = $1`,
			c.ID, c.Name, c.Country, c.TimeZone, c.Latitude, c.Longitude)
		if err := cityWriteError(err); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE events SET time_zone = $2, country = $3 WHERE city_id = $1`, c.ID, c.TimeZone, c.Country); err != nil {
			return fmt.Errorf("store: update city events: %w", err)
		}
		if c.TimeZone != oldZone {
			if err := tx.redateEvents(ctx, c); err != nil {
				return err
			}
		}
		return tx.reindexEvents(ctx, `city_id = $1`, c.ID)
	})
	return c, err
}

// DeleteCity removes a city that no venue or event uses: admins only.
func (db *DB) DeleteCity(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *Tx) error {
		return deleteRow(ctx, tx, "cities", id, "city", "it still has venues or events")
	})
}

func cityWriteError(err error) error {
	if err = translate(err); admit.ErrorCode(err) == admit.ECONFLICT {
		return admit.Errorf(admit.ECONFLICT, "a city with this name already exists in this country")
	}
	if err != nil {
		return fmt.Errorf("store: write city: %w", err)
	}
	return nil
}

func (tx *Tx) checkCountry(ctx context.Context, code string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM countries WHERE code = $1`, code).Scan(&n); err != nil {
		return fmt.Errorf("store: check country: %w", err)
	}
	if n == 0 {
		return admit.Invalid(admit.FieldError{Location: "body.country", Message: "is not an ISO 3166-1 alpha-2 code"})
	}
	return nil
}

// deleteRow deletes one row by id: ENOTFOUND when absent, ECONFLICT with
// inUse when other rows still refer to it.
func deleteRow(ctx context.Context, tx *Tx, table, id, noun, inUse string) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = $1`, id)
	if err = translate(err); admit.ErrorCode(err) == admit.ECONFLICT {
		return admit.Errorf(admit.ECONFLICT, "cannot delete this %s: %s", noun, inUse)
	}
	if err != nil {
		return fmt.Errorf("store: delete %s: %w", noun, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return admit.Errorf(admit.ENOTFOUND, "no %s with id %q", noun, id)
	}
	return nil
}

// ListLocations returns the venues of a city by name, or the venue of one event.
func (db *DB) ListLocations(ctx context.Context, f admit.LocationFilter) ([]admit.Location, string, error) {
	var q query
	from := "locations l"
	if f.CityID != "" {
		q.and("l.city_id = " + q.arg(f.CityID))
	}
	if f.EventID != "" {
		from += " JOIN events e ON e.location_id = l.id"
		q.and("e.id = " + q.arg(f.EventID))
		q.and("e.status <> 'draft'")
	}
	if c := f.Page.Cursor; c != nil {
		q.and("(l.name, l.id) > (" + q.arg(c.Value) + ", " + q.arg(c.ID) + ")")
	}
	limit := pageLimit(f.Page)
	sqlText := `SELECT ` + locationColumns + ` FROM ` + from + q.whereSQL() + ` ORDER BY l.name, l.id LIMIT ` + fmt.Sprint(limit+1)
	db.trace(sqlText, q.args)
	rows, err := db.replica().QueryContext(ctx, sqlText, q.args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list locations: %w", err)
	}
	locs, err := scanAll(rows, scanLocation)
	if err != nil {
		return nil, "", err
	}
	locs, next := nextCursor(locs, limit, "name", func(l admit.Location) (string, string) { return l.Name, l.ID })
	return locs, next, nil
}

const locationColumns = `l.id, l.city_id, l.organization_id, l.name, l.address, l.capacity, l.latitude, l.longitude`

func scanLocation(s scanner) (admit.Location, error) {
	var l admit.Location
	var org sql.NullString
	var lat, lon sql.NullFloat64
	err := s.Scan(&l.ID, &l.CityID, &org, &l.Name, &l.Address, &l.Capacity, &lat, &lon)
	l.OrganizationID, l.Latitude, l.Longitude = org.String, nullFloat(lat), nullFloat(lon)
	return l, err
}

// FindLocation returns a venue: ENOTFOUND.
func (db *DB) FindLocation(ctx context.Context, id string) (*admit.Location, error) {
	return findLocation(ctx, db.primary, id)
}

func findLocation(ctx context.Context, q queryer, id string) (*admit.Location, error) {
	l, err := scanLocation(q.QueryRowContext(ctx, `SELECT `+locationColumns+` FROM locations l WHERE l.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, admit.Errorf(admit.ENOTFOUND, "no location with id %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: find location: %w", err)
	}
	return &l, nil
}

// CreateLocation adds a venue. An organizer's venue belongs to their
// organization (organization_id may be omitted when they have one); an
// admin's without organization_id is shared by all organizers.
func (db *DB) CreateLocation(ctx context.Context, l *admit.Location) error {
	u, err := requireOrganizer(ctx)
	if err != nil {
		return err
	}
	if l.OrganizationID, err = organizationFor(u, l.OrganizationID, !u.IsAdmin()); err != nil {
		return err
	}
	if err := l.Validate(); err != nil {
		return err
	}
	l.ID = newID("loc")
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := findCity(ctx, tx, l.CityID); err != nil {
			return admit.Invalid(admit.FieldError{Location: "body.city_id", Message: "no such city"})
		}
		if err := tx.checkOrganization(ctx, l.OrganizationID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO locations (id, city_id, organization_id, name, address, capacity, latitude, longitude, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			l.ID, l.CityID, nullString(l.OrganizationID), l.Name, l.Address, l.Capacity, l.Latitude, l.Longitude, ts(tx.now))
		if err != nil {
			return fmt.Errorf("store: create location: %w", translate(err))
		}
		return nil
	})
}

// UpdateLocation changes a venue: its organization's organizers, admins.
func (db *DB) UpdateLocation(ctx context.Context, id string, u admit.LocationUpdate) (*admit.Location, error) {
	var l *admit.Location
	err := db.inTx(ctx, func(tx *Tx) (err error) {
		if l, err = tx.managedLocation(ctx, id); err != nil {
			return err
		}
		u.Apply(l)
		if err := l.Validate(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE locations SET name = $2, address = $3, capacity = $4, latitude = $5, longitude = $6 WHERE id = $1`,
			l.ID, l.Name, l.Address, l.Capacity, l.Latitude, l.Longitude)
		if err != nil {
			return fmt.Errorf("store: update location: %w", err)
		}
		return tx.reindexEvents(ctx, `location_id = $1`, l.ID)
	})
	return l, err
}

// DeleteLocation removes a venue no event uses.
func (db *DB) DeleteLocation(ctx context.Context, id string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.managedLocation(ctx, id); err != nil {
			return err
		}
		return deleteRow(ctx, tx, "locations", id, "location", "events take place there")
	})
}

// managedLocation loads a venue the caller may change: shared venues are the
// admins' to change, an organization's venues its organizers' too.
func (tx *Tx) managedLocation(ctx context.Context, id string) (*admit.Location, error) {
	u, err := requireOrganizer(ctx)
	if err != nil {
		return nil, err
	}
	l, err := findLocation(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if !u.IsAdmin() && !u.CanManageOrganization(l.OrganizationID) {
		return nil, admit.Errorf(admit.EFORBIDDEN, "this venue belongs to another organization")
	}
	return l, nil
}

func (tx *Tx) checkOrganization(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM organizations WHERE id = $1`, id).Scan(&n); err != nil {
		return fmt.Errorf("store: check organization: %w", err)
	}
	if n == 0 {
		return admit.Invalid(admit.FieldError{Location: "body.organization_id", Message: "no such organization"})
	}
	return nil
}

// organizationFor resolves the organization a caller acts for: the one
// named, which they must manage, or their only one. required says whether
// an empty answer is an error.
func organizationFor(u *admit.User, orgID string, required bool) (string, error) {
	if orgID == "" && len(u.OrganizationIDs) == 1 && !u.IsAdmin() {
		return u.OrganizationIDs[0], nil
	}
	if orgID == "" {
		if !required {
			return "", nil
		}
		return "", admit.Invalid(admit.FieldError{Location: "body.organization_id", Message: "is required: you belong to several organizations, or none"})
	}
	if !u.CanManageOrganization(orgID) {
		return "", admit.Errorf(admit.EFORBIDDEN, "you do not manage organization %q", orgID)
	}
	return orgID, nil
}

type scanner interface{ Scan(dest ...any) error }

// scanAll reads every row with scan and closes rows.
func scanAll[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: rows: %w", err)
	}
	return out, nil
}

func nullFloat(f sql.NullFloat64) *float64 {
	if !f.Valid {
		return nil
	}
	return &f.Float64
}
