package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	_ "time/tzdata" // the tests need real zones whatever the machine has

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

// testNow is the fixed clock of every test: the store never reads the real time.
var testNow = time.Date(2031, time.March, 3, 9, 0, 0, 0, time.UTC)

// forEachEngine runs fn as a subtest on a fresh SQLite and a fresh
// PostgreSQL database; SQLite still runs when PostgreSQL is unavailable.
func forEachEngine(t *testing.T, fn func(t *testing.T, e testenv.Engine)) {
	t.Helper()
	testenv.ForEachEngine(t, fn)
}

// openDB opens a database with the fixed clock, without migrating.
func openDB(t testing.TB, cfg Config) *DB {
	t.Helper()
	db, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	db.Now = func() time.Time { return testNow }
	return db
}

// openMigrated opens the engine's database and applies the migrations.
func openMigrated(t testing.TB, e testenv.Engine) *DB {
	t.Helper()
	db := openDB(t, Config{URL: e.URL, DataDir: e.DataDir})
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

// fixture is a migrated database with an admin and an organizer.
type fixture struct {
	db      *DB
	admin   context.Context // admit.System
	org     context.Context // an organizer of "Org A"
	orgUser *admit.User
	orgID   string
}

// newFixture opens a migrated database and seeds an organizer of "Org A".
func newFixture(t testing.TB, e testenv.Engine) *fixture {
	t.Helper()
	return seed(t, openMigrated(t, e))
}

// seed adds an organizer of "Org A" to a migrated database.
func seed(t testing.TB, db *DB) *fixture {
	t.Helper()
	f := &fixture{db: db, admin: admit.NewContextWithUser(context.Background(), admit.System)}
	f.org, f.orgUser = f.user(t, "org-a@example.com", admit.RoleOrganizer, "Org A")
	f.orgID = f.orgUser.OrganizationIDs[0]
	return f
}

// setNow moves the clock.
func (f *fixture) setNow(now time.Time) { f.db.Now = func() time.Time { return now } }

// user creates an account and returns a context carrying it as FindUser
// returns it.
func (f *fixture) user(t testing.TB, email string, role admit.Role, org string) (context.Context, *admit.User) {
	t.Helper()
	created, err := f.db.CreateUser(f.admin, admit.NewUser{Email: email, Name: email, Role: role, Organization: org}, "hash")
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	u, err := f.db.FindUser(context.Background(), created.ID)
	if err != nil {
		t.Fatalf("FindUser(%s): %v", email, err)
	}
	if org != "" && len(u.OrganizationIDs) != 1 {
		t.Fatalf("FindUser(%s).OrganizationIDs = %v, want one organization", email, u.OrganizationIDs)
	}
	return admit.NewContextWithUser(context.Background(), u), u
}

// city creates a city as admin.
func (f *fixture) city(t testing.TB, name, country, zone string) *admit.City {
	t.Helper()
	c := &admit.City{Name: name, Country: country, TimeZone: zone}
	if err := f.db.CreateCity(f.admin, c); err != nil {
		t.Fatalf("CreateCity(%s): %v", name, err)
	}
	return c
}

// location creates a venue as the caller in ctx.
func (f *fixture) location(t testing.TB, ctx context.Context, city *admit.City, name string) *admit.Location {
	t.Helper()
	l := &admit.Location{CityID: city.ID, Name: name, Address: name + " street 1", Capacity: 500}
	if err := f.db.CreateLocation(ctx, l); err != nil {
		t.Fatalf("CreateLocation(%s): %v", name, err)
	}
	return l
}

// eventSpec describes an event to create with newEvent.
type eventSpec struct {
	title    string
	category string
	loc      *admit.Location
	start    time.Time     // any zone
	dur      time.Duration // 0: 2h
	prices   []admit.Money // one ticket type each
	status   admit.EventStatus
}

// eur and usd are ticket prices.
func eur(amount int64) admit.Money { return admit.Money{Amount: amount, Currency: "EUR"} }
func usd(amount int64) admit.Money { return admit.Money{Amount: amount, Currency: "USD"} }

// newEvent creates an event as the caller in ctx with its ticket types and
// brings it to spec.status (published when empty).
func (f *fixture) newEvent(t testing.TB, ctx context.Context, spec eventSpec) *admit.Event {
	t.Helper()
	if spec.dur == 0 {
		spec.dur = 2 * time.Hour
	}
	e := &admit.Event{
		Title: spec.title, Description: "About " + spec.title, Category: spec.category,
		CityID: spec.loc.CityID, LocationID: spec.loc.ID, StartsAt: spec.start, EndsAt: spec.start.Add(spec.dur),
	}
	if err := f.db.CreateEvent(ctx, e); err != nil {
		t.Fatalf("CreateEvent(%s): %v", spec.title, err)
	}
	for i, p := range spec.prices {
		tt := &admit.TicketType{EventID: e.ID, Name: fmt.Sprintf("Ticket %d", i+1), Price: p, Quantity: 100}
		if now := f.db.Now(); !spec.start.After(now) {
			// The default sale window (now until the start) is empty for a past event.
			tt.SaleStartsAt, tt.SaleEndsAt = spec.start.Add(-30*24*time.Hour), spec.start
		}
		if err := f.db.CreateTicketType(ctx, tt); err != nil {
			t.Fatalf("CreateTicketType(%s): %v", spec.title, err)
		}
		e.TicketTypes = append(e.TicketTypes, *tt)
	}
	switch spec.status {
	case admit.EventDraft:
	case "", admit.EventPublished:
		f.publish(t, ctx, e)
	case admit.EventCancelled:
		f.publish(t, ctx, e)
		if _, err := f.db.CancelEvent(ctx, e.ID); err != nil {
			t.Fatalf("CancelEvent(%s): %v", spec.title, err)
		}
		e.Status = admit.EventCancelled
	}
	return e
}

func (f *fixture) publish(t testing.TB, ctx context.Context, e *admit.Event) {
	t.Helper()
	if _, err := f.db.PublishEvent(ctx, e.ID); err != nil {
		t.Fatalf("PublishEvent(%s): %v", e.Title, err)
	}
	e.Status = admit.EventPublished
}

// exec runs SQL on the primary, for the state the service does not write yet.
func (f *fixture) exec(t testing.TB, query string, args ...any) {
	t.Helper()
	if _, err := f.db.primary.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("exec %q: %v", query, err)
	}
}

// number reads the one integer a query returns (a count, a counter),
// failing the test if it cannot: a read that failed must not pass for 0.
func (f *fixture) number(t testing.TB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := f.db.primary.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%q: %v", query, err)
	}
	return n
}

// wantCode fails unless err carries the domain error code want.
func wantCode(t testing.TB, what string, err error, want string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: err = nil, want code %q", what, want)
		return
	}
	if got := admit.ErrorCode(err); got != want {
		t.Errorf("%s: code = %q (%v), want %q", what, got, err, want)
	}
}

// must fails the test at once on an error.
func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// titles returns the events' titles in order.
func titles(events []admit.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Title
	}
	return out
}

// eventIDs returns the events' ids in order.
func eventIDs(events []admit.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

// cursorOf decodes a cursor returned by a list for the next page.
func cursorOf(t testing.TB, next, sort string) *admit.Cursor {
	t.Helper()
	c, err := admit.ParseCursor(next, sort)
	if err != nil {
		t.Fatalf("ParseCursor(%q, %q): %v", next, sort, err)
	}
	return c
}

// sameStrings reports whether got equals want, for messages.
func sameStrings(got, want []string) bool { return slices.Equal(got, want) }

// quoted joins strings for messages.
func quoted(s []string) string { return "[" + strings.Join(s, " | ") + "]" }

var uniq atomic.Int64

// unique returns a name no other call returns.
func unique(prefix string) string { return fmt.Sprintf("%s %d", prefix, uniq.Add(1)) }
