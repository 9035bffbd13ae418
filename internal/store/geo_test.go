package store

import (
	"context"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

func TestCitiesAndLocations(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		f := newFixture(t, e)
		db, anon := f.db, context.Background()

		lat, lon := 52.52, 13.405
		c := &admit.City{Name: " Berlin ", Country: "de", TimeZone: "Europe/Berlin", Latitude: &lat, Longitude: &lon}
		must(t, "CreateCity", db.CreateCity(f.admin, c))
		got, err := db.FindCity(anon, c.ID)
		must(t, "FindCity", err)
		if got.Name != "Berlin" || got.Country != "DE" || got.TimeZone != "Europe/Berlin" || got.Latitude == nil || *got.Latitude != lat || *got.Longitude != lon {
			t.Errorf("FindCity = %+v, want Berlin DE Europe/Berlin at %v,%v", got, lat, lon)
		}
		wantCode(t, "CreateCity(unknown country)", db.CreateCity(f.admin, &admit.City{Name: "Atlantis", Country: "XX", TimeZone: "UTC"}), admit.EINVALID)
		wantCode(t, "CreateCity(bad zone)", db.CreateCity(f.admin, &admit.City{Name: "Nowhere", Country: "DE", TimeZone: "Mars/Olympus"}), admit.EINVALID)
		wantCode(t, "CreateLocation(unknown city)", db.CreateLocation(f.org, &admit.Location{CityID: "cty_missing", Name: "Hall"}), admit.EINVALID)

		l := f.location(t, f.org, c, "Kesselhaus")
		if l.OrganizationID != f.orgID {
			t.Errorf("CreateLocation by an organizer: organization = %q, want theirs (%q)", l.OrganizationID, f.orgID)
		}
		cap := int64(1200)
		updated, err := db.UpdateLocation(f.org, l.ID, admit.LocationUpdate{Capacity: &cap})
		must(t, "UpdateLocation", err)
		if updated.Capacity != 1200 || updated.Name != "Kesselhaus" || updated.Address != l.Address {
			t.Errorf("UpdateLocation(capacity) = %+v, want only the capacity changed", updated)
		}

		// A city created with the wrong zone, and an event at 01:00 there on
		// 2031-04-10: 15:00 UTC on 04-09.
		perth := f.city(t, "Perth", "AU", "Australia/Sydney")
		start := localTime(t, "Australia/Sydney", 2031, time.April, 10, 1, 0)
		event := f.newEvent(t, f.org, eventSpec{title: "Sunrise Jazz", loc: f.location(t, f.org, perth, "Perth Arena"), start: start, prices: []admit.Money{eur(100)}})
		onDay := func(day string) []string {
			t.Helper()
			events, _, err := db.ListEvents(anon, admit.EventFilter{FromDate: day, ToDate: day})
			must(t, "ListEvents(on "+day+")", err)
			return titles(events)
		}
		if got := onDay("2031-04-10"); len(got) != 1 {
			t.Fatalf("ListEvents(on 2031-04-10) = %s, want the event", quoted(got))
		}

		// Correcting the zone moves its events' zone, and with it their local
		// dates; renaming the city renames it in the search.
		fixed, err := db.UpdateCity(f.admin, perth.ID, admit.CityUpdate{Name: new("Perth WA"), TimeZone: new("Australia/Perth")})
		must(t, "UpdateCity", err)
		if fixed.Name != "Perth WA" || fixed.TimeZone != "Australia/Perth" || fixed.Country != "AU" {
			t.Errorf("UpdateCity = %+v, want only the name and zone changed", fixed)
		}
		if events, _, err := db.ListEvents(anon, admit.EventFilter{Query: "wa"}); err != nil || len(events) != 1 {
			t.Errorf("ListEvents(q=wa) after renaming the city = %q, %v; want the event", titles(events), err)
		}
		moved, err := db.FindEvent(anon, event.ID)
		must(t, "FindEvent", err)
		if moved.TimeZone != "Australia/Perth" || moved.StartsAt.Location().String() != "Australia/Perth" || !moved.StartsAt.Equal(start) {
			t.Errorf("after the city's zone changed, event zone, start = %s, %v; want Australia/Perth, the same instant", moved.TimeZone, moved.StartsAt)
		}
		// 15:00 UTC on 04-09 is 23:00 on 04-09 in Perth.
		if got := onDay("2031-04-09"); len(got) != 1 {
			t.Errorf("ListEvents(on 2031-04-09) after the zone moved to Perth = %s, want the event", quoted(got))
		}
		if got := onDay("2031-04-10"); len(got) != 0 {
			t.Errorf("ListEvents(on 2031-04-10) after the zone moved to Perth = %s, want none", quoted(got))
		}
		// Its country's events moved along.
		if events, _, err := db.ListEvents(anon, admit.EventFilter{Country: "AU"}); err != nil || len(events) != 1 {
			t.Errorf("ListEvents(country=AU) = %q, %v; want the event", titles(events), err)
		}
	})
}
