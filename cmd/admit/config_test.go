package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestFlagsHaveEnvironmentTwins(t *testing.T) {
	t.Setenv("ADMIT_ADDR", "127.0.0.1:9999")
	t.Setenv("ADMIT_DATABASE_URL", "postgres://u:secret@db/admit")
	t.Setenv("ADMIT_DATABASE_REPLICA_URLS", "postgres://r1/admit, postgres://r2/admit")
	t.Setenv("ADMIT_CACHE_TTL", "0")
	t.Setenv("ADMIT_DEMO", "true")
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:7777"}); err != nil {
		t.Fatal(err)
	}
	c := m.Config
	if c.Addr != "127.0.0.1:7777" || c.DatabaseURL != "postgres://u:secret@db/admit" || c.CacheTTL != 0 || !c.Demo {
		t.Fatalf("config %+v: a flag wins over its twin, the twins fill the rest", c)
	}
	if r := c.Replicas(); len(r) != 2 || r[1] != "postgres://r2/admit" {
		t.Fatalf("replicas %q", r)
	}
	if masked := c.Masked(); strings.Contains(masked["database_url"].(string), "secret") {
		t.Fatalf("the start-up dump shows the password: %v", masked["database_url"])
	}
}

func TestBadConfigurationIsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"--database-url", "mysql://db"},
		{"--database-replica-urls", "postgres://r1"}, // replicas without a PostgreSQL primary
		{"--token-ttl", "0s"},
		{"--cache-ttl", "soon"},
		{"stray"},
	} {
		if err := NewMain(io.Discard, io.Discard).ParseFlags(args); err == nil {
			t.Errorf("serve %v was accepted", args)
		}
	}
	if err := NewMain(io.Discard, io.Discard).ParseFlags([]string{"--cache-ttl", (2 * time.Second).String()}); err != nil {
		t.Fatal(err)
	}
}
