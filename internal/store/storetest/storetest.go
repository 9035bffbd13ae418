// Package storetest opens migrated stores for the tests of the packages
// built on internal/store.
package storetest

import (
	"context"
	"testing"

	"github.com/admit-events/admit/internal/store"
	"github.com/admit-events/admit/internal/testenv"
)

// Open opens the engine's database, applies the migrations and closes it
// when t ends.
func Open(t testing.TB, e testenv.Engine) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{URL: e.URL, DataDir: e.DataDir})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}
