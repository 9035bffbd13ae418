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

// TestEnvironmentTwinsAreParsedLikeFlags: a twin's value is parsed as its
// flag's argument, a bad one is refused naming the variable, and a secret
// from the environment never shows in --help.
func TestEnvironmentTwinsAreParsedLikeFlags(t *testing.T) {
	t.Setenv("ADMIT_STRIPE_SECRET_KEY", "sk_test_do_not_show")
	t.Setenv("ADMIT_STRIPE_WEBHOOK_SECRET", "whsec_do_not_show")
	var help strings.Builder
	if err := NewMain(io.Discard, &help).ParseFlags([]string{"--help"}); err == nil {
		t.Fatal("--help returned no error")
	}
	if strings.Contains(help.String(), "do_not_show") || !strings.Contains(help.String(), "ADMIT_STRIPE_SECRET_KEY_FILE") {
		t.Fatalf("--help shows a secret from the environment, or no _FILE twin:\n%s", help.String())
	}
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags(nil); err != nil || m.Config.StripeSecretKey != "sk_test_do_not_show" {
		t.Fatalf("secret twin: %v, %q", err, m.Config.StripeSecretKey)
	}

	for name, want := range map[string][2]string{ // value, what the error says is expected
		"ADMIT_DATABASE_MAX_CONNS": {"16x", "whole number"}, // was read as 16
		"ADMIT_CACHE_TTL":          {"soon", "duration"},
		"ADMIT_HOLD_TTL":           {"10", "10m"},
		"ADMIT_DEMO":               {"maybe", "true or false"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, want[0])
			err := NewMain(io.Discard, io.Discard).ParseFlags(nil)
			if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), want[1]) {
				t.Fatalf("%s=%s: %v, want an error naming the variable and saying %q", name, want[0], err, want[1])
			}
		})
	}
	t.Run("secret file", func(t *testing.T) {
		t.Setenv("ADMIT_STRIPE_SECRET_KEY_FILE", t.TempDir()+"/missing")
		err := NewMain(io.Discard, io.Discard).ParseFlags(nil)
		if err == nil || !strings.Contains(err.Error(), "ADMIT_STRIPE_SECRET_KEY_FILE") {
			t.Fatalf("a missing secret file: %v", err)
		}
	})
}
