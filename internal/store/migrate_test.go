package store

import (
	"context"
	"io/fs"
	"sync"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

// migrationCount is how many migrations the engine embeds.
func migrationCount(t *testing.T, db *DB) int {
	t.Helper()
	names, err := fs.Glob(migrations, "migrations/"+string(db.engine)+"/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded migrations of %s: %v (%d files)", db.engine, err, len(names))
	}
	return len(names)
}

// checkMigrated asserts that every migration is recorded once and the
// country list is complete.
func checkMigrated(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	var applied, distinct int
	if err := db.primary.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT name) FROM schema_migrations`).Scan(&applied, &distinct); err != nil {
		t.Fatalf("count schema_migrations: %v", err)
	}
	if want := migrationCount(t, db); applied != want || distinct != want {
		t.Errorf("schema_migrations has %d rows (%d names), want %d", applied, distinct, want)
	}
	var countries int
	if err := db.primary.QueryRowContext(ctx, `SELECT COUNT(*) FROM countries`).Scan(&countries); err != nil {
		t.Fatalf("count countries: %v", err)
	}
	if countries != 249 {
		t.Errorf("countries table has %d rows, want 249", countries)
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		ctx := context.Background()
		db := openMigrated(t, e)
		checkMigrated(t, db)

		applied := func() map[string]int64 {
			rows, err := db.primary.QueryContext(ctx, `SELECT name, applied_at FROM schema_migrations`)
			must(t, "read schema_migrations", err)
			defer rows.Close()
			m := map[string]int64{}
			for rows.Next() {
				var name string
				var at int64
				must(t, "scan schema_migrations", rows.Scan(&name, &at))
				m[name] = at
			}
			must(t, "read schema_migrations", rows.Err())
			return m
		}
		before := applied()

		// A second run, later and through a new handle, changes nothing.
		db.Now = func() time.Time { return testNow.Add(time.Hour) }
		must(t, "second Migrate", db.Migrate(ctx))
		again := openDB(t, Config{URL: e.URL, DataDir: e.DataDir})
		again.Now = func() time.Time { return testNow.Add(2 * time.Hour) }
		must(t, "Migrate through a new handle", again.Migrate(ctx))
		checkMigrated(t, db)
		after := applied()
		for name, at := range before {
			if after[name] != at {
				t.Errorf("migration %s applied_at = %d after re-running, want %d (unchanged)", name, after[name], at)
			}
		}

		countries, err := db.ListCountries(ctx)
		must(t, "ListCountries", err)
		if len(countries) != 249 {
			t.Errorf("ListCountries returned %d countries, want 249", len(countries))
		}
		found := false
		for i, c := range countries {
			if i > 0 && countries[i-1].Name > c.Name {
				t.Errorf("ListCountries not ordered by name: %q before %q", countries[i-1].Name, c.Name)
			}
			if c.Code == "DE" {
				found = c.Name == "Germany"
			}
		}
		if !found {
			t.Errorf("ListCountries lacks DE Germany")
		}
	})
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		// Two processes starting at once: two handles on one database
		// (for SQLite, one data directory), migrating at the same moment.
		cfg := Config{URL: e.URL, DataDir: e.DataDir}
		dbs := []*DB{openDB(t, cfg), openDB(t, cfg)}
		start := make(chan struct{})
		errs := make([]error, len(dbs))
		var wg sync.WaitGroup
		for i, db := range dbs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = db.Migrate(context.Background())
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Migrate on handle %d: %v", i, err)
			}
		}
		checkMigrated(t, dbs[0])
		checkMigrated(t, dbs[1])
	})
}

// olderDatabase opens the engine's database with the migrations before
// stop only, and an organizer; oldEvent adds an event with one ticket type
// in the given status, written the way the schema of then allows (SQL).
func olderDatabase(t *testing.T, e testenv.Engine, stop string) (f *fixture, oldEvent func(admit.EventStatus) *admit.Event) {
	t.Helper()
	db := openDB(t, Config{URL: e.URL, DataDir: e.DataDir})
	must(t, "migrate before "+stop, db.migrateBefore(context.Background(), stop))
	f = seed(t, db)
	loc := f.location(t, f.org, f.city(t, "Ghent", "BE", "Europe/Brussels"), "Hall")
	return f, func(status admit.EventStatus) *admit.Event {
		ev := f.newEvent(t, f.org, eventSpec{title: "Old", loc: loc, start: testNow.Add(48 * time.Hour), prices: []admit.Money{eur(100)}, status: admit.EventDraft})
		f.exec(t, `UPDATE events SET status = $2 WHERE id = $1`, ev.ID, status)
		return ev
	}
}

// TestUpgradeClosesCancelledEvents upgrades a database from before
// migration 0006: the ticket types of events cancelled before it come out
// closed (nothing can be sold or paid for them), and a row that already
// held more than its quantity gets the quantity it really sold and held,
// so that the new inventory constraint can hold from then on.
func TestUpgradeClosesCancelledEvents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		f, oldEvent := olderDatabase(t, e, "0006")
		db := f.db
		cancelled, open := oldEvent(admit.EventCancelled), oldEvent(admit.EventPublished)
		f.exec(t, `UPDATE ticket_types SET sold = 70, held = 40 WHERE id = $1`, open.TicketTypes[0].ID) // 110 of 100

		must(t, "upgrade", db.Migrate(context.Background()))
		var closed, quantity int64
		must(t, "read", db.primary.QueryRow(`SELECT COUNT(*) FROM ticket_types WHERE event_id = $1 AND closed_at IS NOT NULL`, cancelled.ID).Scan(&closed))
		must(t, "read", db.primary.QueryRow(`SELECT quantity FROM ticket_types WHERE id = $1`, open.TicketTypes[0].ID).Scan(&quantity))
		if closed != 1 || quantity != 110 {
			t.Fatalf("after the upgrade: %d of the cancelled event's ticket types closed, the overfull one has quantity %d (want 1 and 110)", closed, quantity)
		}
		ev, err := db.FindEvent(f.org, cancelled.ID)
		must(t, "FindEvent", err)
		if a := ev.TicketTypes[0].Available; a == nil || *a != 0 {
			t.Fatalf("the cancelled event shows %v available", a)
		}
	})
}

// TestUpgradeFromFirst0006: a database that applied migration 0006 as it
// first shipped (no backfill) gets its cancelled events' ticket types
// closed by 0010.
func TestUpgradeFromFirst0006(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		f, oldEvent := olderDatabase(t, e, "0010")
		db := f.db
		ev := oldEvent(admit.EventCancelled) // cancelled before 0006, left open by it
		must(t, "upgrade", db.Migrate(context.Background()))
		var open int
		must(t, "read", db.primary.QueryRow(`SELECT COUNT(*) FROM ticket_types WHERE event_id = $1 AND closed_at IS NULL`, ev.ID).Scan(&open))
		if open != 0 {
			t.Fatalf("%d ticket types of an event cancelled before 0006 are still open", open)
		}
	})
}

// TestUpgradeGivesRefundsTheirEvent: refunds made before migration 0014
// come out in their event's refund list. Those a provider sent keep the
// instant they were made as when the money went out; manual ones, which
// were recorded as sent though nobody had paid them back, are owed again.
func TestUpgradeGivesRefundsTheirEvent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		f, oldEvent := olderDatabase(t, e, "0014")
		ev := oldEvent(admit.EventPublished)
		order := `INSERT INTO orders (id, user_id, event_id, status, expires_at, total_amount, currency, refunded_amount, provider, created_at, updated_at)
			VALUES ($1, $2, $3, 'cancelled', $4, 100, 'EUR', 100, $5, $4, $4)`
		f.exec(t, order, "ord_card", f.orgUser.ID, ev.ID, ts(testNow), admit.ProviderStripe)
		f.exec(t, order, "ord_cash", f.orgUser.ID, ev.ID, ts(testNow), admit.ProviderManual)
		f.exec(t, `INSERT INTO refunds (id, order_id, amount, currency, status, provider_ref, created_at)
			VALUES ('ref_sent', 'ord_card', 100, 'EUR', 'succeeded', 're_1', $1), ('ref_owed', 'ord_cash', 100, 'EUR', 'succeeded', 'manual', $2)`,
			ts(testNow), ts(testNow.Add(time.Minute)))
		must(t, "upgrade", f.db.Migrate(context.Background()))
		got, _, err := f.db.ListRefunds(f.org, ev.ID, "", admit.Page{})
		must(t, "ListRefunds", err)
		if len(got) != 2 || got[0].ID != "ref_sent" || got[0].Status != admit.RefundSucceeded || got[0].RefundedAt == nil || !got[0].RefundedAt.Equal(testNow) ||
			got[1].ID != "ref_owed" || got[1].Status != admit.RefundPending || got[1].RefundedAt != nil || got[1].Reference != "" || got[1].EventID != ev.ID {
			t.Fatalf("the event's refunds after the upgrade: %+v", got)
		}
	})
}
