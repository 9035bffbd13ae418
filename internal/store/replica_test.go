package store

import (
	"context"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

// TestReplicaReads points a DB at a primary and a "replica" that is a
// different database holding different data, so every answer shows which
// one it came from: catalogue lists come from the replica, FindEvent, the
// organizer's own view and writes from the primary. Replicas are a
// PostgreSQL feature (SQLite reads its own file), so this runs there only.
func TestReplicaReads(t *testing.T) {
	t.Parallel()
	primaryURL, replicaURL := testenv.PostgresURL(t), testenv.PostgresURL(t)
	soon := testNow.Add(72 * time.Hour)
	fill := func(url, name string) (*fixture, *admit.City, *admit.Event) {
		f := seed(t, openMigrated(t, testenv.Engine{Name: "postgres", URL: url}))
		c := f.city(t, name+"ville", "DE", "Europe/Berlin")
		ev := f.newEvent(t, f.org, eventSpec{title: name + " Event", loc: f.location(t, f.org, c, name+" Hall"), start: soon, prices: []admit.Money{eur(100)}})
		return f, c, ev
	}
	primary, primaryCity, primaryEvent := fill(primaryURL, "Primary")
	replica, replicaCity, replicaEvent := fill(replicaURL, "Replica")
	primaryDraft := primary.newEvent(t, primary.org, eventSpec{title: "Primary Draft", loc: mustLocation(t, primary.db, primaryEvent.LocationID), start: soon, prices: []admit.Money{eur(200)}, status: admit.EventDraft})

	db := openDB(t, Config{URL: primaryURL, ReplicaURLs: []string{replicaURL}})
	if err := db.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	anon := context.Background()
	admin := admit.NewContextWithUser(anon, admit.System)
	org := primary.org // the organizer as the primary knows them

	events, _, err := db.ListEvents(anon, admit.EventFilter{})
	must(t, "ListEvents", err)
	if got := titles(events); !sameStrings(got, []string{"Replica Event"}) {
		t.Errorf("ListEvents = %s, want [Replica Event] from the replica", quoted(got))
	}
	if len(events) == 1 && (len(events[0].TicketTypes) != 1 || events[0].TicketTypes[0].ID != replicaEvent.TicketTypes[0].ID) {
		t.Errorf("ListEvents ticket types = %+v, want the replica's", events[0].TicketTypes)
	}
	cities, _, err := db.ListCities(anon, admit.CityFilter{})
	must(t, "ListCities", err)
	if len(cities) != 1 || cities[0].ID != replicaCity.ID {
		t.Errorf("ListCities = %+v, want only %s from the replica", cities, replicaCity.Name)
	}
	locs, _, err := db.ListLocations(anon, admit.LocationFilter{CityID: replicaCity.ID})
	must(t, "ListLocations", err)
	if len(locs) != 1 || locs[0].Name != "Replica Hall" {
		t.Errorf("ListLocations(replica city) = %+v, want Replica Hall from the replica", locs)
	}

	// Exact reads come from the primary.
	got, err := db.FindEvent(anon, primaryEvent.ID)
	if err != nil || got.Title != "Primary Event" || got.TicketTypes[0].Available == nil {
		t.Errorf("FindEvent(primary's event) = %+v, %v; want it with exact availability", got, err)
	}
	_, err = db.FindEvent(anon, replicaEvent.ID)
	wantCode(t, "FindEvent(replica-only event)", err, admit.ENOTFOUND)
	if _, err := db.FindCity(anon, primaryCity.ID); err != nil {
		t.Errorf("FindCity(primary's city): %v", err)
	}
	// The organizer's own view reads their own writes, drafts included.
	events, _, err = db.ListEvents(org, admit.EventFilter{OrganizationID: primary.orgID})
	must(t, "ListEvents(own organization)", err)
	if got := titles(events); !sameStrings(got, []string{"Primary Event", "Primary Draft"}) && !sameStrings(got, []string{"Primary Draft", "Primary Event"}) {
		t.Errorf("ListEvents(own organization) = %s, want the primary's event and draft", quoted(got))
	}

	// Writes go to the primary only.
	c := &admit.City{Name: "Newtown", Country: "DE", TimeZone: "Europe/Berlin"}
	must(t, "CreateCity", db.CreateCity(admin, c))
	if _, err := primary.db.FindCity(anon, c.ID); err != nil {
		t.Errorf("the primary lacks the city written through the replicated handle: %v", err)
	}
	_, err = replica.db.FindCity(anon, c.ID)
	wantCode(t, "FindCity on the replica of a city written to the primary", err, admit.ENOTFOUND)
	published, err := db.PublishEvent(org, primaryDraft.ID)
	if err != nil || published.Status != admit.EventPublished {
		t.Errorf("PublishEvent through the replicated handle = %v, %v; want published", published, err)
	}
	if got, err := primary.db.FindEvent(anon, primaryDraft.ID); err != nil || got.Status != admit.EventPublished {
		t.Errorf("the primary's copy after publishing = %v, %v; want published", got, err)
	}
}

func mustLocation(t *testing.T, db *DB, id string) *admit.Location {
	t.Helper()
	l, err := db.FindLocation(context.Background(), id)
	must(t, "FindLocation", err)
	return l
}
