package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

func TestUsersAndTokens(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		f := newFixture(t, e)
		db, ctx := f.db, context.Background()

		// A second organizer naming an existing organization joins it.
		_, colleague := f.user(t, "colleague@example.com", admit.RoleOrganizer, "Org A")
		if !slices.Equal(colleague.OrganizationIDs, []string{f.orgID}) {
			t.Errorf("colleague organizations = %v, want [%s] (the existing Org A)", colleague.OrganizationIDs, f.orgID)
		}
		if u := f.orgUser; u.Email != "org-a@example.com" || u.Role != admit.RoleOrganizer || !u.CreatedAt.Equal(testNow) {
			t.Errorf("FindUser = %+v, want the organizer created at %v", u, testNow)
		}
		_, attendee := f.user(t, "fan@example.com", admit.RoleAttendee, "")
		if attendee.OrganizationIDs == nil || len(attendee.OrganizationIDs) != 0 {
			t.Errorf("attendee organizations = %#v, want an empty list", attendee.OrganizationIDs)
		}
		id, hash, err := db.Credentials(ctx, "fan@example.com")
		if err != nil || id != attendee.ID || hash != "hash" {
			t.Errorf("Credentials = %q, %q, %v; want %q, hash", id, hash, err, attendee.ID)
		}

		// Tokens expire by the injected clock; expired ones are swept when
		// the user gets a new one.
		must(t, "CreateToken", db.CreateToken(ctx, attendee.ID, "h1", testNow.Add(time.Hour)))
		u, err := db.UserByToken(ctx, "h1")
		if err != nil || u.ID != attendee.ID {
			t.Errorf("UserByToken = %v, %v; want the attendee", u, err)
		}
		_, err = db.UserByToken(ctx, "nope")
		wantCode(t, "UserByToken(unknown)", err, admit.EUNAUTHORIZED)
		wantCode(t, "CreateToken(same hash)", db.CreateToken(ctx, attendee.ID, "h1", testNow.Add(time.Hour)), admit.ECONFLICT)

		f.setNow(testNow.Add(time.Hour))
		_, err = db.UserByToken(ctx, "h1")
		wantCode(t, "UserByToken(expired)", err, admit.EUNAUTHORIZED)
		wantCode(t, "DeleteToken(expired)", db.DeleteToken(ctx, "h1"), admit.EUNAUTHORIZED)
		must(t, "CreateToken", db.CreateToken(ctx, attendee.ID, "h2", testNow.Add(2*time.Hour)))
		var n int
		must(t, "count tokens", db.primary.QueryRow(`SELECT COUNT(*) FROM api_tokens WHERE user_id = $1`, attendee.ID).Scan(&n))
		if n != 1 {
			t.Errorf("%d tokens stored after the expired one should have been swept, want 1", n)
		}
		must(t, "DeleteToken", db.DeleteToken(ctx, "h2"))
		_, err = db.UserByToken(ctx, "h2")
		wantCode(t, "UserByToken(revoked)", err, admit.EUNAUTHORIZED)
		wantCode(t, "DeleteToken twice", db.DeleteToken(ctx, "h2"), admit.EUNAUTHORIZED)
	})
}
