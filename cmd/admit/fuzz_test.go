package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/admit-events/admit/internal/testenv"
)

// FuzzEventsQuery sends arbitrary query strings to the event search, through
// the parsers, the cache and both full-text dialects' SQL: never a 500.
func FuzzEventsQuery(f *testing.F) {
	for _, seed := range []string{"city=cty_x&q=jazz", "q=%22%2A%28NEAR", "q=a:*%26!b", "q=' OR 1=1 --", "limit=-1&cursor=%FF",
		"from=2030-02-30", "min_price=1e9&currency=EUR", "sort=popularity&cursor=YzEAcG9wdWxhcml0eQAxAHg", "q=%E2%80%AE%F0%9F%8E%B5"} {
		f.Add(seed)
	}
	s := startServer(f, testenv.Engine{Name: "sqlite", DataDir: f.TempDir()}, "--demo", "--cache-ttl", "0")
	f.Fuzz(func(t *testing.T, raw string) {
		s.t = t
		// Re-encode, so the request line is one a client can send.
		if v, err := url.ParseQuery(raw); err == nil {
			raw = v.Encode()
		} else {
			raw = url.Values{"q": {raw}}.Encode()
		}
		r := s.call("GET", "/api/v1/events?"+raw, "", nil)
		if r.StatusCode >= 500 || (r.StatusCode >= 400 && r.Header.Get("Content-Type") != "application/problem+json") {
			t.Fatalf("GET /api/v1/events?%s: %d %s", raw, r.StatusCode, r.body)
		}
	})
}

// FuzzWriteBodies posts arbitrary JSON to the write endpoints as an
// organizer and an admin: a 2xx or a 4xx problem, never a 500.
func FuzzWriteBodies(f *testing.F) {
	for _, seed := range []string{`{}`, `[]`, `null`, `{"title":"x","city_id":"cty_1","location_id":"l","starts_at":"2030-01-01T00:00:00Z","ends_at":"2030-01-01T01:00:00Z"}`,
		`{"name":"x","price":{"amount":1,"currency":"EUR"},"quantity":1}`, `{"name":"\u0000","country":"PT","time_zone":"Local"}`,
		`{"starts_at":"9999-12-31T23:59:59Z"}`, `{"price":{"amount":1e400}}`, `{"tags":[1,2]}`, `{"latitude":"NaN"}`} {
		f.Add(seed, uint8(0))
	}
	s := startServer(f, testenv.Engine{Name: "sqlite", DataDir: f.TempDir()}, "--cache-ttl", "0")
	c := buildCatalogue(f, s)
	paths := []struct{ method, path, token string }{
		{"POST", "/api/v1/events", c.organizer}, {"PATCH", "/api/v1/events/" + c.event.ID, c.organizer},
		{"POST", "/api/v1/events/" + c.event.ID + "/ticket-types", c.organizer},
		{"PATCH", "/api/v1/events/" + c.event.ID + "/ticket-types/" + c.general.ID, c.organizer},
		{"POST", "/api/v1/cities", c.admin}, {"PATCH", "/api/v1/cities/" + c.city.ID, c.admin},
		{"POST", "/api/v1/locations", c.organizer}, {"PATCH", "/api/v1/locations/" + c.venue.ID, c.organizer},
		{"POST", "/api/v1/accounts", ""},
	}
	f.Fuzz(func(t *testing.T, body string, which uint8) {
		s.t = t
		p := paths[int(which)%len(paths)]
		r := s.call(p.method, p.path, p.token, body)
		if r.StatusCode >= 500 || (r.StatusCode >= 400 && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json")) {
			t.Fatalf("%s %s %q: %d %s", p.method, p.path, body, r.StatusCode, r.body)
		}
	})
}
