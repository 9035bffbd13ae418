// Package demo loads a demo catalogue: five countries, nine cities in six
// time zones, venues, and published upcoming events with ticket types in
// five currencies, plus an organizer and an admin whose passwords it prints.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/store"
)

type demoCity struct {
	name, country, zone, currency string
	lat, lon                      float64
	venues                        []string
}

var cities = []demoCity{
	{"Berlin", "DE", "Europe/Berlin", "EUR", 52.52, 13.405, []string{"Tempodrom", "Kulturbrauerei"}},
	{"Munich", "DE", "Europe/Berlin", "EUR", 48.137, 11.575, []string{"Olympiahalle", "Muffatwerk"}},
	{"London", "GB", "Europe/London", "GBP", 51.507, -0.128, []string{"Barbican Centre", "Roundhouse"}},
	{"Manchester", "GB", "Europe/London", "GBP", 53.48, -2.242, []string{"Albert Hall", "Bridgewater Hall"}},
	{"New York", "US", "America/New_York", "USD", 40.713, -74.006, []string{"Javits Center", "Brooklyn Steel"}},
	{"San Francisco", "US", "America/Los_Angeles", "USD", 37.775, -122.419, []string{"Moscone Center", "The Fillmore"}},
	{"Tokyo", "JP", "Asia/Tokyo", "JPY", 35.676, 139.65, []string{"Tokyo Big Sight", "Zepp Haneda"}},
	{"Osaka", "JP", "Asia/Tokyo", "JPY", 34.694, 135.502, []string{"Intex Osaka", "Zepp Namba"}},
	{"São Paulo", "BR", "America/Sao_Paulo", "BRL", -23.55, -46.633, []string{"Expo Center Norte", "Audio"}},
}

type demoEvent struct {
	title, category, description string
	tags                         []string
	hours                        int
}

var events = []demoEvent{
	{"Go Systems Conference", "tech", "Two days of talks on building reliable services in Go.", []string{"go", "backend"}, 16},
	{"Late Night Jazz", "music", "Quartets and big bands until the small hours.", []string{"jazz", "live"}, 4},
	{"Startup Pitch Night", "business", "Ten founders, five minutes each, one jury.", []string{"startups"}, 3},
	{"Open Air Cinema", "film", "Classics under the stars; bring a blanket.", []string{"outdoor", "film"}, 3},
}

// majorUnit is how many minor units make one unit of each demo currency.
var majorUnit = map[string]int64{"EUR": 100, "GBP": 100, "USD": 100, "JPY": 1, "BRL": 100}

// Load fills an empty catalogue with the demo data and prints the demo
// accounts' credentials to out; on a database that has cities it does nothing.
func Load(ctx context.Context, db *store.DB, accounts admit.AccountService, out io.Writer) error {
	sys := admit.NewContextWithUser(ctx, admit.System)
	if existing, _, err := db.ListCities(ctx, admit.CityFilter{Page: admit.Page{Limit: 1}}); err != nil {
		return err
	} else if len(existing) > 0 {
		fmt.Fprintln(out, "demo: the catalogue already has cities: the demo catalogue and accounts are not loaded again")
		return nil
	}
	adminPass, orgPass := password(), password()
	if _, err := accounts.CreateUser(sys, admit.NewUser{Email: "admin@demo.admit.test", Password: adminPass, Name: "Demo Admin", Role: admit.RoleAdmin}); err != nil {
		return fmt.Errorf("demo: admin: %w", err)
	}
	org, err := accounts.CreateUser(sys, admit.NewUser{Email: "organizer@demo.admit.test", Password: orgPass, Name: "Demo Organizer",
		Role: admit.RoleOrganizer, Organization: "Demo Events"})
	if err != nil {
		return fmt.Errorf("demo: organizer: %w", err)
	}
	orgCtx := admit.NewContextWithUser(ctx, org)
	now := db.Now()
	n := 0
	for i, dc := range cities {
		c := &admit.City{Name: dc.name, Country: dc.country, TimeZone: dc.zone, Latitude: &dc.lat, Longitude: &dc.lon}
		if err := db.CreateCity(sys, c); err != nil {
			return fmt.Errorf("demo: city %s: %w", dc.name, err)
		}
		zone, _ := time.LoadLocation(dc.zone)
		for v, venue := range dc.venues {
			l := &admit.Location{CityID: c.ID, Name: venue, Address: fmt.Sprintf("%d Main Street, %s", 10+v, dc.name), Capacity: int64(500 * (v + 1))}
			if err := db.CreateLocation(sys, l); err != nil {
				return fmt.Errorf("demo: venue %s: %w", venue, err)
			}
			for k := 0; k < 2; k++ {
				de := events[(i+v*2+k)%len(events)]
				day := now.In(zone).AddDate(0, 0, 3+7*k+v+i)
				start := time.Date(day.Year(), day.Month(), day.Day(), 19, 0, 0, 0, zone)
				e := &admit.Event{OrganizationID: org.OrganizationIDs[0], Title: de.title + " " + dc.name, Description: de.description,
					Category: de.category, Tags: de.tags, CityID: c.ID, LocationID: l.ID, StartsAt: start, EndsAt: start.Add(time.Duration(de.hours) * time.Hour),
					RefundUntilHoursBeforeStart: admit.DefaultRefundHours}
				if err := createEvent(orgCtx, db, e, dc.currency, n); err != nil {
					return err
				}
				n++
			}
		}
	}
	fmt.Fprintf(out, "demo: loaded %d cities and %d events\n", len(cities), n)
	fmt.Fprintf(out, "demo: admin     admin@demo.admit.test     password %s\n", adminPass)
	fmt.Fprintf(out, "demo: organizer organizer@demo.admit.test password %s\n", orgPass)
	return nil
}

func createEvent(ctx context.Context, db *store.DB, e *admit.Event, currency string, n int) error {
	if err := db.CreateEvent(ctx, e); err != nil {
		return fmt.Errorf("demo: event %s: %w", e.Title, err)
	}
	unit := majorUnit[currency]
	types := []admit.TicketType{
		{Name: "General admission", Kind: "general", Price: admit.Money{Amount: int64(20+5*(n%5)) * unit, Currency: currency}, Quantity: 400},
		{Name: "VIP", Kind: "vip", Price: admit.Money{Amount: int64(90+10*(n%3)) * unit, Currency: currency}, Quantity: 40, MaxPerOrder: 4},
	}
	if n%4 == 3 {
		types[0].Price.Amount = 0 // some events are free
	}
	for i := range types {
		types[i].EventID = e.ID
		if err := db.CreateTicketType(ctx, &types[i]); err != nil {
			return fmt.Errorf("demo: ticket type: %w", err)
		}
	}
	if _, err := db.PublishEvent(ctx, e.ID); err != nil {
		return fmt.Errorf("demo: publish: %w", err)
	}
	return nil
}

func password() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Generate adds n published events spread over the demo cities and venues,
// in batches, printing progress: a catalogue big enough to benchmark search.
func Generate(ctx context.Context, db *store.DB, n int, out io.Writer) error {
	sys := admit.NewContextWithUser(ctx, admit.System)
	orgID, err := db.OrganizationID(ctx, "Demo Events")
	if err != nil {
		return err
	}
	type place struct {
		city  admit.City
		venue admit.Location
	}
	var places []place
	for _, dc := range cities {
		cs, _, err := db.ListCities(ctx, admit.CityFilter{Country: dc.country, Page: admit.Page{Limit: admit.MaxPageLimit}})
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.Name != dc.name {
				continue
			}
			ls, _, err := db.ListLocations(ctx, admit.LocationFilter{CityID: c.ID, Page: admit.Page{Limit: admit.MaxPageLimit}})
			if err != nil {
				return err
			}
			for _, l := range ls {
				places = append(places, place{c, l})
			}
		}
	}
	if len(places) == 0 {
		return fmt.Errorf("demo: no demo venues to generate events in")
	}
	const batch = 1000
	now := db.Now()
	start := time.Now()
	for done := 0; done < n; {
		size := min(batch, n-done)
		evs := make([]admit.Event, size)
		for i := range evs {
			k := done + i
			p := places[k%len(places)]
			de := events[k%len(events)]
			dc := cities[k%len(cities)]
			for _, c := range cities {
				if c.name == p.city.Name {
					dc = c
				}
			}
			starts := now.Add(time.Duration(24+k%(24*365)) * time.Hour).Truncate(time.Hour)
			evs[i] = admit.Event{OrganizationID: orgID, Title: fmt.Sprintf("%s #%d", de.title, k), Description: de.description,
				Category: de.category, Tags: de.tags, CityID: p.city.ID, LocationID: p.venue.ID,
				StartsAt: starts, EndsAt: starts.Add(time.Duration(de.hours) * time.Hour), Popularity: int64(k * 7919 % 1000),
				TicketTypes: []admit.TicketType{{Name: "General admission", Price: admit.Money{Amount: int64(10+k%90) * majorUnit[dc.currency], Currency: dc.currency}, Quantity: 1000}}}
		}
		if err := db.ImportEvents(sys, evs); err != nil {
			return fmt.Errorf("demo: generate: %w", err)
		}
		done += size
		fmt.Fprintf(out, "demo: generated %d/%d events (%.0f/s)\n", done, n, float64(done)/time.Since(start).Seconds())
	}
	if err := db.Analyze(ctx); err != nil {
		return fmt.Errorf("demo: analyze: %w", err)
	}
	return nil
}
