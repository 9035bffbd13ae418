package account

import (
	"context"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/store/storetest"
	"github.com/admit-events/admit/internal/testenv"
)

// TestTokenLookupsAreCachedBriefly: a token is looked up in the database at
// most once per tokenCacheTTL; revoking it through the service takes effect
// at once, revoking it behind the service's back (as another process does)
// within tokenCacheTTL.
func TestTokenLookupsAreCachedBriefly(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		now := time.Date(2031, 3, 3, 9, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		s := New(db, time.Hour, cheap)
		if _, err := s.CreateUser(ctx, admit.NewUser{Email: "fan@example.com", Password: "a long enough password", Name: "Fan"}); err != nil {
			t.Fatal(err)
		}
		issue := func() string {
			tok, err := s.IssueToken(ctx, "fan@example.com", "a long enough password", "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			return tok.Token
		}
		authenticated := func(tok string) bool {
			u, err := s.Authenticate(ctx, tok)
			if err != nil && admit.ErrorCode(err) != admit.EUNAUTHORIZED {
				t.Fatal(err)
			}
			return err == nil && u.Email == "fan@example.com"
		}

		// Revoked behind the cache's back: still honoured until the TTL ends.
		tok := issue()
		if !authenticated(tok) {
			t.Fatal("a fresh token is refused")
		}
		if err := db.DeleteToken(ctx, hashToken(tok)); err != nil {
			t.Fatal(err)
		}
		now = now.Add(tokenCacheTTL - time.Millisecond)
		if !authenticated(tok) {
			t.Fatal("the token was looked up again within the cache TTL")
		}
		now = now.Add(time.Millisecond)
		if authenticated(tok) {
			t.Fatalf("a token revoked elsewhere still works %s after it was cached", tokenCacheTTL)
		}

		// Revoked through this service: refused at once.
		tok = issue()
		if !authenticated(tok) {
			t.Fatal("a fresh token is refused")
		}
		if err := s.RevokeToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if authenticated(tok) {
			t.Fatal("a token revoked through this process still works")
		}

		// Callers cannot change the cached user.
		tok = issue()
		u, _ := s.Authenticate(ctx, tok)
		u.Role = admit.RoleAdmin
		if again, _ := s.Authenticate(ctx, tok); again.Role != admit.RoleAttendee {
			t.Fatalf("changing an answer changed the cache: role %s", again.Role)
		}
	})
}

// TestTokenCacheSkipsLookupsThatRacedARevocation: a lookup that began before
// a revocation is not cached (it may have read the revoked token).
func TestTokenCacheSkipsLookupsThatRacedARevocation(t *testing.T) {
	c := newTokenCache()
	now := time.Date(2031, 3, 3, 9, 0, 0, 0, time.UTC)
	u := &admit.User{ID: "usr_1", OrganizationIDs: []string{"org_1"}}
	gen := c.generation()
	c.forget("revoked") // a revocation while the lookup ran
	c.put("revoked", u, now, gen)
	if _, ok := c.get("revoked", now); ok {
		t.Fatal("a lookup that raced a revocation was cached")
	}
	c.put("fresh", u, now, c.generation())
	got, ok := c.get("fresh", now)
	if !ok || got.ID != "usr_1" {
		t.Fatal("a lookup with no revocation meanwhile was not cached")
	}
	got.OrganizationIDs[0] = "changed"
	if again, _ := c.get("fresh", now); again.OrganizationIDs[0] != "org_1" {
		t.Fatal("changing a cached user's organizations changed the cache")
	}
	if _, ok := c.get("fresh", now.Add(tokenCacheTTL)); ok {
		t.Fatal("an entry outlived the TTL")
	}
}
