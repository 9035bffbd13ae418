package store

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

// TestErrorsTranslated checks that driver errors become the same domain
// errors on both engines, and that misses are errors, never nil, nil.
func TestErrorsTranslated(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		f := newFixture(t, e)
		db, ctx := f.db, context.Background()

		t.Run("duplicate city in a country", func(t *testing.T) {
			f.city(t, "Berlin", "DE", "Europe/Berlin")
			err := db.CreateCity(f.admin, &admit.City{Name: "Berlin", Country: "de", TimeZone: "Europe/Berlin"})
			wantCode(t, "CreateCity(Berlin, DE) twice", err, admit.ECONFLICT)
			// The same name in another country is another city.
			if err := db.CreateCity(f.admin, &admit.City{Name: "Berlin", Country: "US", TimeZone: "America/New_York"}); err != nil {
				t.Errorf("CreateCity(Berlin, US): %v, want nil", err)
			}
			hamburg := f.city(t, "Hamburg", "DE", "Europe/Berlin")
			_, err = db.UpdateCity(f.admin, hamburg.ID, admit.CityUpdate{Name: new("Berlin")})
			wantCode(t, "UpdateCity(Hamburg → Berlin)", err, admit.ECONFLICT)
			got, err := db.FindCity(ctx, hamburg.ID)
			must(t, "FindCity(Hamburg)", err)
			if got.Name != "Hamburg" {
				t.Errorf("after a refused rename, city name = %q, want Hamburg", got.Name)
			}
		})

		t.Run("duplicate user email", func(t *testing.T) {
			n := admit.NewUser{Email: "dup@example.com", Name: "Dup", Role: admit.RoleAttendee}
			if _, err := db.CreateUser(ctx, n, "hash"); err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			n.Name = "Other"
			u, err := db.CreateUser(ctx, n, "hash2")
			wantCode(t, "CreateUser with a taken email", err, admit.ECONFLICT)
			if u != nil {
				t.Errorf("CreateUser with a taken email returned user %+v, want nil", u)
			}
			_, hash, err := db.Credentials(ctx, "dup@example.com")
			must(t, "Credentials", err)
			if hash != "hash" {
				t.Errorf("password hash after the refused duplicate = %q, want the first account's", hash)
			}
		})

		t.Run("delete a city in use", func(t *testing.T) {
			c := f.city(t, "Köln", "DE", "Europe/Berlin")
			l := f.location(t, f.org, c, "Lanxess Arena")
			wantCode(t, "DeleteCity with a venue", db.DeleteCity(f.admin, c.ID), admit.ECONFLICT)
			if _, err := db.FindCity(ctx, c.ID); err != nil {
				t.Errorf("FindCity after a refused delete: %v, want the city", err)
			}
			ev := f.newEvent(t, f.org, eventSpec{title: "Cologne Fair", loc: l, start: testNow.Add(48 * time.Hour), prices: []admit.Money{eur(100)}})
			wantCode(t, "DeleteLocation with an event", db.DeleteLocation(f.org, l.ID), admit.ECONFLICT)
			must(t, "DeleteEvent", db.DeleteEvent(f.org, ev.ID))
			must(t, "DeleteLocation", db.DeleteLocation(f.org, l.ID))
			must(t, "DeleteCity", db.DeleteCity(f.admin, c.ID))
			_, err := db.FindCity(ctx, c.ID)
			wantCode(t, "FindCity after delete", err, admit.ENOTFOUND)
		})

		t.Run("missing ids", func(t *testing.T) {
			const missing = "xyz_doesnotexist"
			c, err := db.FindCity(ctx, missing)
			wantCode(t, "FindCity", err, admit.ENOTFOUND)
			if c != nil {
				t.Errorf("FindCity(missing) = %+v, want nil", c)
			}
			l, err := db.FindLocation(ctx, missing)
			wantCode(t, "FindLocation", err, admit.ENOTFOUND)
			if l != nil {
				t.Errorf("FindLocation(missing) = %+v, want nil", l)
			}
			ev, err := db.FindEvent(f.admin, missing)
			wantCode(t, "FindEvent", err, admit.ENOTFOUND)
			if ev != nil {
				t.Errorf("FindEvent(missing) = %+v, want nil", ev)
			}
			u, err := db.FindUser(ctx, missing)
			wantCode(t, "FindUser", err, admit.ENOTFOUND)
			if u != nil {
				t.Errorf("FindUser(missing) = %+v, want nil", u)
			}
			_, _, err = db.Credentials(ctx, "nobody@example.com")
			wantCode(t, "Credentials", err, admit.ENOTFOUND)

			_, err = db.UpdateCity(f.admin, missing, admit.CityUpdate{Name: new("X")})
			wantCode(t, "UpdateCity", err, admit.ENOTFOUND)
			wantCode(t, "DeleteCity", db.DeleteCity(f.admin, missing), admit.ENOTFOUND)
			_, err = db.UpdateLocation(f.admin, missing, admit.LocationUpdate{Name: new("X")})
			wantCode(t, "UpdateLocation", err, admit.ENOTFOUND)
			wantCode(t, "DeleteLocation", db.DeleteLocation(f.admin, missing), admit.ENOTFOUND)
			_, err = db.UpdateEvent(f.admin, missing, admit.EventUpdate{Title: new("X")})
			wantCode(t, "UpdateEvent", err, admit.ENOTFOUND)
			wantCode(t, "DeleteEvent", db.DeleteEvent(f.admin, missing), admit.ENOTFOUND)
			_, err = db.PublishEvent(f.admin, missing)
			wantCode(t, "PublishEvent", err, admit.ENOTFOUND)
			_, err = db.CancelEvent(f.admin, missing)
			wantCode(t, "CancelEvent", err, admit.ENOTFOUND)
			wantCode(t, "CreateTicketType", db.CreateTicketType(f.admin, &admit.TicketType{EventID: missing, Name: "X", Price: eur(1), Quantity: 1}), admit.ENOTFOUND)

			// A ticket type missing from an existing event.
			c2 := f.city(t, "Bonn", "DE", "Europe/Berlin")
			hall := f.location(t, f.org, c2, "Beethovenhalle")
			event := f.newEvent(t, f.org, eventSpec{title: "Bonn Jazz", loc: hall, start: testNow.Add(72 * time.Hour), prices: []admit.Money{eur(1)}})
			_, err = db.UpdateTicketType(f.org, event.ID, missing, admit.TicketTypeUpdate{Name: new("X")})
			wantCode(t, "UpdateTicketType", err, admit.ENOTFOUND)
			wantCode(t, "DeleteTicketType", db.DeleteTicketType(f.org, event.ID, missing), admit.ENOTFOUND)
			// A ticket type of this event asked for under another event.
			other := f.newEvent(t, f.org, eventSpec{title: "Bonn Blues", loc: hall, start: testNow.Add(96 * time.Hour), prices: []admit.Money{eur(1)}})
			wantCode(t, "DeleteTicketType under another event", db.DeleteTicketType(f.org, other.ID, event.TicketTypes[0].ID), admit.ENOTFOUND)
		})
	})
}

// TestDeadlockVictimRunsAgain makes two transactions lock two rows in
// opposite orders: PostgreSQL aborts one as a deadlock victim, and inTx
// runs it again, so that both succeed and the client never sees it;
// whether the store's code hands the driver's error on as it is or
// translated. (SQLite's write transactions are exclusive: they cannot
// deadlock.)
func TestDeadlockVictimRunsAgain(t *testing.T) {
	f := newFixture(t, testenv.Engine{Name: "postgres", URL: testenv.PostgresURL(t)})
	a, b := f.city(t, "Aachen", "DE", "Europe/Berlin"), f.city(t, "Bonn", "DE", "Europe/Berlin")
	for name, handOn := range map[string]func(error) error{"raw": func(err error) error { return err }, "translated": translate} {
		t.Run(name, func(t *testing.T) {
			var runs atomic.Int32
			var locked sync.WaitGroup
			locked.Add(2)
			lock := func(first, second string) error {
				return f.db.inTx(context.Background(), func(tx *Tx) error {
					if _, err := tx.Exec(`UPDATE cities SET name = name WHERE id = $1`, first); err != nil {
						return handOn(err)
					}
					if runs.Add(1) <= 2 { // the first run of each: wait until both hold their first row
						locked.Done()
						locked.Wait()
					}
					_, err := tx.Exec(`UPDATE cities SET name = name WHERE id = $1`, second)
					return handOn(err)
				})
			}
			errs := make(chan error, 2)
			go func() { errs <- lock(a.ID, b.ID) }()
			go func() { errs <- lock(b.ID, a.ID) }()
			for range 2 {
				if err := <-errs; err != nil {
					t.Errorf("transaction: %v", err)
				}
			}
			if n := runs.Load(); n < 3 { // 4 when, under load, both detect the deadlock
				t.Fatalf("%d runs, want two and the deadlock victim's second", n)
			}
		})
	}
}

// TestTextPostgreSQLCannotStore: a NUL that got past validation is a
// client's mistake (EINVALID), not an internal error.
func TestTextPostgreSQLCannotStore(t *testing.T) {
	db := openMigrated(t, testenv.Engine{Name: "postgres", URL: testenv.PostgresURL(t)})
	err := db.inTx(context.Background(), func(tx *Tx) error {
		_, err := tx.Exec(`SELECT $1::text`, "a\x00b")
		return err
	})
	wantCode(t, "a NUL in text", err, admit.EINVALID)
}
