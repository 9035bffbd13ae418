package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/admit-events/admit/internal/store"
	"github.com/admit-events/admit/internal/testenv"
	"github.com/admit-events/admit/internal/web"
	"github.com/admit-events/admit/internal/web/api"
)

type parameter struct {
	Name   string `json:"name"`
	In     string `json:"in"`
	Schema struct {
		Type string   `json:"type"`
		Enum []string `json:"enum"`
	} `json:"schema"`
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	s := startServer(t, testenv.Engine{Name: "sqlite", DataDir: t.TempDir()})
	var doc struct {
		OpenAPI string           `json:"openapi"`
		Servers []map[string]any `json:"servers"`
		Paths   map[string]map[string]struct {
			OperationID string                     `json:"operationId"`
			Summary     string                     `json:"summary"`
			Security    *[]map[string][]string     `json:"security"`
			Responses   map[string]json.RawMessage `json:"responses"`
			Parameters  []parameter                `json:"parameters"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Required []string `json:"required"`
			} `json:"schemas"`
		} `json:"components"`
	}
	s.call("GET", "/api/openapi.json", "", nil).want(t, 200).decode(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.1") || len(doc.Servers) == 0 {
		t.Fatalf("openapi %q with %d servers, want 3.1 and a server", doc.OpenAPI, len(doc.Servers))
	}
	// Every problem says what went wrong this time; clients may rely on it.
	if req := doc.Components.Schemas["Problem"].Required; !slices.Equal(slices.Sorted(slices.Values(req)), []string{"detail", "status", "title", "type"}) {
		t.Errorf("the Problem schema requires %v, want type, title, status and detail", req)
	}
	patterns := s.m.Server.Router().Patterns()
	if len(patterns) < 25 {
		t.Fatalf("only %d routes registered", len(patterns))
	}
	ids := map[string]bool{}
	for _, p := range patterns {
		method, path, _ := strings.Cut(p, " ")
		op, ok := doc.Paths[path][strings.ToLower(method)]
		if !ok {
			t.Errorf("route %s is missing from the OpenAPI document", p)
			continue
		}
		if op.OperationID == "" || ids[op.OperationID] || op.Summary == "" || op.Security == nil {
			t.Errorf("%s: operationId %q (unique), summary %q and security are required", p, op.OperationID, op.Summary)
		}
		ids[op.OperationID] = true
		has4xx := false
		for code := range op.Responses {
			has4xx = has4xx || code[0] == '4'
		}
		if !has4xx {
			t.Errorf("%s documents no 4xx response", p)
		}

		for _, q := range op.Parameters {
			if want := map[string]string{"limit": "integer", "min_price": "integer", "max_price": "integer", "free": "boolean", "cursor": "string"}[q.Name]; want != "" && q.Schema.Type != want {
				t.Errorf("%s: query parameter %s documented as %q, want %q", p, q.Name, q.Schema.Type, want)
			}
			statuses := map[string][]string{"GET /api/v1/events/{id}/refunds": {"pending", "succeeded", "failed"},
				"GET /api/v1/events/{id}/orders": {"pending", "paid", "expired", "cancelled", "failed"}}
			if want, ok := statuses[p]; q.Name == "status" && (!ok || !slices.Equal(q.Schema.Enum, want)) {
				t.Errorf("%s: status documented as one of %v, want %v", p, q.Schema.Enum, want)
			}
		}
		idempotent := slices.ContainsFunc(op.Parameters, func(p parameter) bool {
			return p.Name == web.IdempotencyKeyHeader && p.In == "header"
		})
		if want := slices.Contains(api.IdempotentPatterns, p); idempotent != want {
			t.Errorf("%s: documents an Idempotency-Key header: %v, accepts one: %v", p, idempotent, want)
		}
		for code, r := range op.Responses {
			if replays := bytes.Contains(r, []byte(`"`+web.IdempotentReplayedHeader+`"`)); replays != idempotent {
				t.Errorf("%s: its %s answer documents the %s header: %v, want %v", p, code, web.IdempotentReplayedHeader, replays, idempotent)
			}
		}
		if !strings.HasPrefix(path, "/api/v1/") && path != "/api/openapi.json" && path != "/healthz" && path != "/readyz" && path != "/metrics" {
			t.Errorf("%s is not keyed by its full /api/v1 path", p)
		}
	}
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	s := startServer(t, testenv.Engine{Name: "sqlite", DataDir: t.TempDir()}, "--demo")
	s.call("GET", "/healthz", "", nil).want(t, 200)
	s.call("GET", "/readyz", "", nil).want(t, 200)
	s.call("GET", "/api/v1/events?limit=1", "", nil).want(t, 200)
	s.call("GET", "/api/v1/nope", "", nil).want(t, 404)
	m := string(s.call("GET", "/metrics", "", nil).want(t, 200).body)
	for _, want := range []string{
		`admit_http_requests_total{method="GET",route="GET /api/v1/events",status="200"} 1`,
		`admit_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`admit_http_request_duration_seconds_bucket{method="GET",route="GET /api/v1/events",le="+Inf"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if s.call("GET", "/healthz", "", nil).Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
}

func TestDemoCatalogue(t *testing.T) {
	var out bytes.Buffer
	dir := t.TempDir()
	if err := run(context.Background(), []string{"demo", "--data-dir", dir}, nil, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "admin@demo.admit.test") || !strings.Contains(out.String(), "organizer@demo.admit.test") {
		t.Fatalf("demo did not print the accounts: %s", out.String())
	}
	s := startServer(t, testenv.Engine{Name: "sqlite", DataDir: dir})
	var cities list[struct {
		ID         string `json:"id"`
		Country    string `json:"country"`
		TimeZone   string `json:"time_zone"`
		EventCount int    `json:"event_count"`
	}]
	s.call("GET", "/api/v1/cities", "", nil).want(t, 200).decode(t, &cities)
	countries, zones, events := map[string]bool{}, map[string]bool{}, 0
	for _, c := range cities.Items {
		countries[c.Country], zones[c.TimeZone] = true, true
		events += c.EventCount
		if c.EventCount == 0 {
			t.Errorf("demo city %s has no events", c.ID)
		}
	}
	if len(countries) < 4 || len(cities.Items) < 8 || len(zones) < 3 || events < 20 {
		t.Fatalf("demo: %d countries, %d cities, %d zones, %d events", len(countries), len(cities.Items), len(zones), events)
	}
	var all list[struct {
		TicketTypes []struct{ Price struct{ Currency string } } `json:"ticket_types"`
	}]
	s.call("GET", "/api/v1/events?limit=100", "", nil).want(t, 200).decode(t, &all)
	currencies := map[string]bool{}
	for _, e := range all.Items {
		for _, tt := range e.TicketTypes {
			currencies[tt.Price.Currency] = true
		}
	}
	if len(currencies) < 3 {
		t.Fatalf("demo ticket types in %d currencies, want 3 or more", len(currencies))
	}
	// Loading again leaves the catalogue alone.
	out.Reset()
	if err := run(context.Background(), []string{"demo", "--data-dir", dir}, nil, &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "not loaded again") {
		t.Fatalf("second demo load: %v %s", err, out.String())
	}
}

func TestUserCreateCommand(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, testenv.Engine{Name: "sqlite", DataDir: dir}) // the command runs beside a live server
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("from a file, long\n"), 0o600)
	cmd := func(stdin string, args ...string) error {
		return run(context.Background(), append(append([]string{"user", "create"}, args...), "--data-dir", dir),
			strings.NewReader(stdin), &bytes.Buffer{}, &bytes.Buffer{})
	}
	if err := cmd("", "--email", "ops@example.com", "--role", "organizer", "--org", "Ops", "--password-file", pwFile); err != nil {
		t.Fatal(err)
	}
	s.login("ops@example.com", "from a file, long")
	if err := cmd("piped password!\n", "--email", "root@example.com", "--role", "admin"); err != nil {
		t.Fatal(err)
	}
	s.login("root@example.com", "piped password!")
	for _, bad := range [][]string{
		{"--email", "ops@example.com", "--role", "admin"},             // taken
		{"--email", "x@example.com", "--role", "king"},                // no such role
		{"--email", "y@example.com", "--role", "admin", "--org", "O"}, // admins have no organization
		{"--role", "admin"}, // no email
	} {
		if err := cmd("long enough password\n", bad...); err == nil {
			t.Errorf("user create %v succeeded", bad)
		}
	}
	if err := cmd("", "--email", "z@example.com"); err == nil {
		t.Error("user create without a password succeeded")
	}
	if err := cmd("short\n", "--email", "z@example.com"); err == nil || !strings.Contains(err.Error(), "password") || strings.Contains(err.Error(), "body.") {
		t.Errorf("user create with a short password: %v, want the rule in the command's words", err)
	}
}

// TestOutboxCommandRevivesDeadLetters: a message parked dead shows in
// /metrics and in admit outbox list, and admit outbox retry puts it back in
// line for the workers.
func TestOutboxCommandRevivesDeadLetters(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		ctx := context.Background()
		s := startServer(t, e, "--worker-interval", "1h") // the test plays the failing worker
		c := buildCatalogue(t, s)
		s.call("POST", "/api/v1/orders", c.attendee, orderBody(c.event.ID, c.general.ID, 1)).want(t, 201)
		msgs, err := s.m.DB.ClaimOutbox(ctx, 10, time.Minute)
		if err != nil || len(msgs) == 0 {
			t.Fatalf("claimed %d messages, %v; want the order's", len(msgs), err)
		}
		seq := msgs[0].Seq
		if err := s.m.DB.RetryOutbox(ctx, seq, "smtp: connection refused", time.Now(), true); err != nil {
			t.Fatal(err)
		}
		outbox := func(args ...string) (string, error) {
			var out bytes.Buffer
			err := run(ctx, append(append([]string{"outbox"}, args...), storageArgs(e)...), nil, &out, io.Discard)
			return out.String(), err
		}
		if m := string(s.call("GET", "/metrics", "", nil).want(t, 200).body); !strings.Contains(m, "admit_outbox_dead_messages 1\n") {
			t.Fatalf("metrics do not count the dead letter:\n%s", m)
		}
		out, err := outbox("list")
		if err != nil || !strings.Contains(out, "dead: 1") || !strings.Contains(out, fmt.Sprint(seq)) || !strings.Contains(out, "smtp: connection refused") {
			t.Fatalf("outbox list: %v\n%s", err, out)
		}
		for _, bad := range [][]string{{"retry"}, {"retry", "--all", "--seq", "1"}, {"retry", "--seq", "x"}, {"list", "--limit", "0"}, {"purge"}, {}} {
			if _, err := outbox(bad...); !errors.As(err, new(usageError)) {
				t.Errorf("outbox %v: %v, want a usage error", bad, err)
			}
		}
		if out, err := outbox("retry", "--seq", fmt.Sprintf("%d,%d", seq, seq)); err != nil || out != "1 dead message(s) back in line\n" {
			t.Fatalf("outbox retry: %v\n%s", err, out)
		}
		if out, err := outbox("retry", "--all"); err != nil || !strings.HasPrefix(out, "0 dead") {
			t.Fatalf("a second retry: %v\n%s", err, out)
		}
		if _, err := outbox("retry", "--seq", fmt.Sprint(seq)); err == nil || !strings.Contains(err.Error(), "not dead") {
			t.Fatalf("retrying a message no longer dead: %v, want an error saying so", err)
		}
		if m := string(s.call("GET", "/metrics", "", nil).want(t, 200).body); !strings.Contains(m, "admit_outbox_dead_messages 0\n") {
			t.Fatalf("metrics still count a dead letter after its retry:\n%s", m)
		}
		revived, err := s.m.DB.ClaimOutbox(ctx, 10, time.Minute)
		if err != nil || !slices.ContainsFunc(revived, func(m store.OutboxMessage) bool { return m.Seq == seq && m.Attempts == 1 }) {
			t.Fatalf("after retry the workers claim %+v, %v; want message %d on its first attempt", revived, err, seq)
		}
	})
}

// TestOutboxCommandRefusesAWrongDatabase: pointed at a directory without a
// database, or at one not migrated, admit outbox says so instead of
// creating or migrating one and reporting nothing dead.
func TestOutboxCommandRefusesAWrongDatabase(t *testing.T) {
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "nothing")
	err := run(ctx, []string{"outbox", "list", "--data-dir", missing}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no Admit database") {
		t.Fatalf("outbox list on a missing database: %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("outbox list created %s: %v", missing, err)
	}
	bare := t.TempDir()
	db, err := store.Open(ctx, store.Config{DataDir: bare}) // a database file, never migrated
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	err = run(ctx, []string{"outbox", "retry", "--all", "--data-dir", bare}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "admit migrate") {
		t.Fatalf("outbox retry on an unmigrated database: %v", err)
	}
}
