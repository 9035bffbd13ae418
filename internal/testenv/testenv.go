// Package testenv gives tests the real services of this machine: a fresh
// PostgreSQL database per test, SQLite in a temp dir. Outside CI a missing
// service skips the test with a message naming it; with CI=true it fails.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// DefaultPostgresURL is used when ADMIT_TEST_DATABASE_URL is not set.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Engine is a database to run a test on: URL "" means SQLite in DataDir.
type Engine struct {
	Name    string
	URL     string
	DataDir string
}

// Engines returns a fresh SQLite and a fresh PostgreSQL database for t.
func Engines(t testing.TB) []Engine {
	t.Helper()
	return []Engine{
		{Name: "sqlite", DataDir: t.TempDir()},
		{Name: "postgres", URL: PostgresURL(t)},
	}
}

// Unavailable skips t outside CI and fails it in CI, naming the service.
func Unavailable(t testing.TB, service string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is unreachable (CI=true, so this fails rather than skips): %v", service, err)
	}
	t.Skipf("skipping: %s is unreachable (set CI=true to fail instead): %v", service, err)
}

// PostgresURL creates an empty database on the test server and returns its
// URL; the database is dropped when t ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("ADMIT_TEST_DATABASE_URL")
	if base == "" {
		base = DefaultPostgresURL
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		Unavailable(t, "PostgreSQL (ADMIT_TEST_DATABASE_URL)", err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		Unavailable(t, "PostgreSQL at "+redact(base), err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "admit_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
	})
	u, _ := url.Parse(base)
	u.Path = "/" + name
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// ForEachEngine runs fn as a subtest on a fresh SQLite and a fresh
// PostgreSQL database; an unreachable PostgreSQL skips (or, in CI, fails)
// only its own subtest.
func ForEachEngine(t *testing.T, fn func(t *testing.T, e Engine)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, Engine{Name: "sqlite", DataDir: t.TempDir()}) })
	t.Run("postgres", func(t *testing.T) { fn(t, Engine{Name: "postgres", URL: PostgresURL(t)}) })
}
