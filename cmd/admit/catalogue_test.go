package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// catalogue is a small catalogue built through the API by its owners.
type catalogue struct {
	admin, organizer, attendee string
	city                       admit.City
	venue                      admit.Location
	event                      admit.Event
	general                    admit.TicketType
}

// buildCatalogue creates, through the API, a city (admin), a venue, an event
// and a ticket type (organizer), and publishes the event.
func buildCatalogue(t testing.TB, s *testServer) catalogue {
	t.Helper()
	var c catalogue
	c.admin = s.createUser("admin@example.com", "admin", "")
	c.organizer = s.createUser("org@example.com", "organizer", "Acme Events")
	s.call("POST", "/api/v1/accounts", "", map[string]string{"email": "ann@example.com", "password": "ann's long password", "name": "Ann"}).want(t, 201)
	c.attendee = s.login("ann@example.com", "ann's long password")

	city := s.call("POST", "/api/v1/cities", c.admin, map[string]any{"name": "Lisbon", "country": "pt", "time_zone": "Europe/Lisbon"}).want(t, 201)
	city.decode(t, &c.city)
	if c.city.Country != "PT" || c.city.ID == "" {
		t.Fatalf("city: %+v", c.city)
	}
	venue := s.call("POST", "/api/v1/locations", c.organizer, map[string]any{"city_id": c.city.ID, "name": "Coliseu", "address": "Rua das Portas", "capacity": 4000}).
		want(t, 201)
	venue.decode(t, &c.venue)
	start := time.Now().Add(96 * time.Hour).UTC().Truncate(time.Second)
	event := s.call("POST", "/api/v1/events", c.organizer, map[string]any{
		"title": "Fado Night", "description": "Songs of longing", "category": "Music", "tags": []string{"fado"},
		"city_id": c.city.ID, "location_id": c.venue.ID, "starts_at": start, "ends_at": start.Add(3 * time.Hour),
	}).want(t, 201)
	event.decode(t, &c.event)
	if c.event.Status != admit.EventDraft || c.event.TimeZone != "Europe/Lisbon" || c.event.OrganizationID == "" {
		t.Fatalf("new event: %+v", c.event)
	}
	for r, want := range map[*response]string{&city: "/api/v1/cities/" + c.city.ID, &venue: "/api/v1/locations/" + c.venue.ID, &event: "/api/v1/events/" + c.event.ID} {
		if got := r.Header.Get("Location"); got != want {
			t.Fatalf("%s answered Location %q, want %q", r.Request.URL.Path, got, want)
		}
	}
	s.call("POST", "/api/v1/events/"+c.event.ID+"/publish", c.organizer, nil).wantProblem(t, 409, "") // no ticket type yet
	general := s.call("POST", "/api/v1/events/"+c.event.ID+"/ticket-types", c.organizer, map[string]any{
		"name": "General", "price": map[string]any{"amount": 2500, "currency": "EUR"}, "quantity": 300,
	}).want(t, 201)
	general.decode(t, &c.general)
	if loc := general.Header.Get("Location"); loc != "/api/v1/events/"+c.event.ID+"/ticket-types/"+c.general.ID {
		t.Fatalf("new ticket type at Location %q", loc)
	}
	// Every new resource can be read back where its Location says (the
	// draft event's parts by its organizer only).
	for _, r := range []response{city, venue, event, general} {
		loc := r.Header.Get("Location")
		var got struct{ ID string }
		s.call("GET", loc, c.organizer, nil).want(t, 200).decode(t, &got)
		if !strings.HasSuffix(loc, "/"+got.ID) {
			t.Fatalf("GET %s answered %s", loc, got.ID)
		}
	}
	s.call("GET", "/api/v1/events/"+c.event.ID+"/ticket-types/"+c.general.ID, "", nil).wantProblem(t, 404, "") // a draft's
	s.call("GET", "/api/v1/events/"+c.event.ID+"/ticket-types/tt_nothing", c.organizer, nil).wantProblem(t, 404, "")
	if c.general.MinPerOrder != 1 || c.general.MaxPerOrder != 10 || c.general.Kind != "general" || !c.general.SaleEndsAt.Equal(start) {
		t.Fatalf("ticket type defaults: %+v", c.general)
	}
	s.call("POST", "/api/v1/events/"+c.event.ID+"/publish", c.organizer, nil).want(t, 200).decode(t, &c.event)
	if c.event.Status != admit.EventPublished {
		t.Fatalf("published event status %q", c.event.Status)
	}
	return c
}

func TestCatalogueThroughTheAPI(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := startServer(t, e)
		c := buildCatalogue(t, s)

		// The public finds the event by city, by city and venue, by words, by price.
		for _, q := range []string{
			"city=" + c.city.ID, "city=" + c.city.ID + "&location=" + c.venue.ID, "q=fado", "q=Coli", "q=lisbon+songs",
			"country=PT", "category=music", "currency=EUR&max_price=2500", "currency=EUR&min_price=2500",
			"from=" + c.event.StartsAt.Format(time.DateOnly) + "&to=" + c.event.StartsAt.Format(time.DateOnly), "",
		} {
			var got list[admit.Event]
			s.call("GET", "/api/v1/events?"+q, "", nil).want(t, 200).decode(t, &got)
			if len(got.Items) != 1 || got.Items[0].ID != c.event.ID {
				t.Fatalf("events?%s: got %d items, want the event", q, len(got.Items))
			}
			if got.Items[0].TicketTypes[0].Available != nil {
				t.Fatalf("events?%s: a list carries an available count; only the event itself may", q)
			}
		}
		for _, q := range []string{"q=opera", "currency=EUR&max_price=2499", "currency=USD", "free=true", "country=DE", "city=cty_nothing"} {
			var got list[admit.Event]
			s.call("GET", "/api/v1/events?"+q, "", nil).want(t, 200).decode(t, &got)
			if len(got.Items) != 0 {
				t.Fatalf("events?%s: got %d items, want none", q, len(got.Items))
			}
		}

		var cities list[admit.City]
		s.call("GET", "/api/v1/cities?country=PT", "", nil).want(t, 200).decode(t, &cities)
		if len(cities.Items) != 1 || cities.Items[0].EventCount != 1 || cities.Items[0].Country != "PT" {
			t.Fatalf("cities: %+v", cities.Items)
		}
		var venues list[admit.Location]
		s.call("GET", "/api/v1/locations?city="+c.city.ID+"&eid="+c.event.ID, "", nil).want(t, 200).decode(t, &venues)
		if len(venues.Items) != 1 || venues.Items[0].ID != c.venue.ID {
			t.Fatalf("venue of the event: %+v", venues.Items)
		}
		var countries list[admit.Country]
		s.call("GET", "/api/v1/countries", "", nil).want(t, 200).decode(t, &countries)
		if len(countries.Items) != 249 {
			t.Fatalf("%d countries, want 249", len(countries.Items))
		}

		// The event itself: times in its zone, exact availability.
		var got admit.Event
		s.call("GET", "/api/v1/events/"+c.event.ID, "", nil).want(t, 200).decode(t, &got)
		if _, off := got.StartsAt.Zone(); got.TimeZone != "Europe/Lisbon" || off != zoneOffset(t, "Europe/Lisbon", got.StartsAt) {
			t.Fatalf("event times not in its zone: %s %s", got.StartsAt, got.TimeZone)
		}
		if a := got.TicketTypes[0].Available; a == nil || *a != 300 {
			t.Fatalf("available = %v, want 300", a)
		}
	})
}

func zoneOffset(t *testing.T, zone string, at time.Time) int {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	_, off := at.In(loc).Zone()
	return off
}

func TestCatalogueCachingAndValidators(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := startServer(t, e, "--cache-ttl", "1h")
		c := buildCatalogue(t, s)
		path := "/api/v1/events?city=" + c.city.ID

		first := s.call("GET", path, "", nil).want(t, 200)
		etag := first.Header.Get("ETag")
		if etag == "" || !strings.Contains(first.Header.Get("Cache-Control"), "max-age=3600") {
			t.Fatalf("list validators: ETag %q Cache-Control %q", etag, first.Header.Get("Cache-Control"))
		}
		if r := s.call("GET", path, "", nil, "If-None-Match", etag); r.StatusCode != 304 || len(r.body) != 0 {
			t.Fatalf("If-None-Match with the current tag: %d %q, want 304 and no body", r.StatusCode, r.body)
		}

		// A local write clears the cache at once, even with a long TTL.
		s.call("PATCH", "/api/v1/events/"+c.event.ID, c.organizer, map[string]any{"title": "Fado Night II"}).want(t, 200)
		var l list[admit.Event]
		r := s.call("GET", path, "", nil, "If-None-Match", etag).want(t, 200)
		r.decode(t, &l)
		if l.Items[0].Title != "Fado Night II" || r.Header.Get("ETag") == etag {
			t.Fatalf("after a write the list still says %q (etag %s)", l.Items[0].Title, r.Header.Get("ETag"))
		}

		// The event carries exact availability, never cached: it revalidates.
		ev := s.call("GET", "/api/v1/events/"+c.event.ID, "", nil).want(t, 200)
		if cc := ev.Header.Get("Cache-Control"); cc != "public, no-cache" || ev.Header.Get("ETag") == "" {
			t.Fatalf("event Cache-Control %q", cc)
		}
		s.call("GET", "/api/v1/events/"+c.event.ID, "", nil, "If-None-Match", ev.Header.Get("ETag")).want(t, 304)
		s.call("PATCH", "/api/v1/events/"+c.event.ID+"/ticket-types/"+c.general.ID, c.organizer, map[string]any{"quantity": 250}).want(t, 200)
		var got admit.Event
		s.call("GET", "/api/v1/events/"+c.event.ID, "", nil, "If-None-Match", ev.Header.Get("ETag")).want(t, 200).decode(t, &got)
		if *got.TicketTypes[0].Available != 250 {
			t.Fatalf("available %d after the quantity changed to 250", *got.TicketTypes[0].Available)
		}
	})
}

// TestAvailabilityIsExactAcrossProcesses runs two servers on one PostgreSQL:
// a change through one is visible in the other's event at once, whatever
// its list cache holds.
func TestAvailabilityIsExactAcrossProcesses(t *testing.T) {
	e := testenv.Engine{Name: "postgres", URL: testenv.PostgresURL(t)}
	a := startServer(t, e, "--cache-ttl", "1h")
	b := startServer(t, e, "--cache-ttl", "1h")
	c := buildCatalogue(t, a)
	var before admit.Event
	b.call("GET", "/api/v1/events/"+c.event.ID, "", nil).want(t, 200).decode(t, &before)
	a.call("PATCH", "/api/v1/events/"+c.event.ID+"/ticket-types/"+c.general.ID, c.organizer, map[string]any{"quantity": 10}).want(t, 200)
	var after admit.Event
	b.call("GET", "/api/v1/events/"+c.event.ID, "", nil).want(t, 200).decode(t, &after)
	if *before.TicketTypes[0].Available != 300 || *after.TicketTypes[0].Available != 10 {
		t.Fatalf("process B saw available %d then %d, want 300 then 10", *before.TicketTypes[0].Available, *after.TicketTypes[0].Available)
	}
}

func TestCursorPagingThroughTheAPI(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := startServer(t, e, "--cache-ttl", "0")
		c := buildCatalogue(t, s)
		for i := range 6 {
			start := time.Now().Add(time.Duration(72+i) * time.Hour).UTC().Truncate(time.Second)
			var ev admit.Event
			s.call("POST", "/api/v1/events", c.organizer, map[string]any{"title": fmt.Sprintf("Talk %d", i), "city_id": c.city.ID,
				"location_id": c.venue.ID, "starts_at": start, "ends_at": start.Add(time.Hour)}).want(t, 201).decode(t, &ev)
			s.call("POST", "/api/v1/events/"+ev.ID+"/ticket-types", c.organizer, map[string]any{"name": "Free", "price": map[string]any{"amount": 0, "currency": "EUR"}, "quantity": 5}).want(t, 201)
			s.call("POST", "/api/v1/events/"+ev.ID+"/publish", c.organizer, nil).want(t, 200)
		}
		seen := map[string]bool{}
		var last time.Time
		cursor := ""
		for page := 0; ; page++ {
			var l list[admit.Event]
			s.call("GET", "/api/v1/events?limit=3&cursor="+url.QueryEscape(cursor), "", nil).want(t, 200).decode(t, &l)
			for _, ev := range l.Items {
				if seen[ev.ID] || ev.StartsAt.Before(last) {
					t.Fatalf("page %d: %s repeated or out of order", page, ev.ID)
				}
				seen[ev.ID], last = true, ev.StartsAt
			}
			if cursor = l.NextCursor; cursor == "" {
				break
			}
		}
		if len(seen) != 7 {
			t.Fatalf("paged through %d events, want 7", len(seen))
		}
		s.call("GET", "/api/v1/events?sort=popularity&cursor=garbage", "", nil).wantProblem(t, 400, "query.cursor")
	})
}
