package main

import (
	"strconv"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

func TestAccountsAndTokens(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := startServer(t, e)
		signUp := func(email, password string) response {
			return s.call("POST", "/api/v1/accounts", "", map[string]string{"email": email, "password": password, "name": "Bea"})
		}
		var u admit.User
		signUp("bea@example.com", "ten chars!").want(t, 201).decode(t, &u)
		if u.Role != admit.RoleAttendee || u.Email != "bea@example.com" {
			t.Fatalf("sign-up made %+v, want an attendee", u)
		}
		signUp("BEA@example.com", "another password").wantProblem(t, 409, "")
		signUp("cid@example.com", "nine char").wantProblem(t, 422, "body.password")
		signUp("not an email", "long enough pw").wantProblem(t, 422, "body.email")

		// The new account can get a token and use it at once.
		tok := s.login("bea@example.com", "ten chars!")
		var me admit.User
		s.call("GET", "/api/v1/me", tok, nil).want(t, 200).decode(t, &me)
		if me.ID != u.ID {
			t.Fatalf("me = %s, want %s", me.ID, u.ID)
		}

		// Unknown email and wrong password get the same answer.
		wrong := s.call("POST", "/api/v1/auth/token", "", map[string]string{"email": "bea@example.com", "password": "wrong password"})
		unknown := s.call("POST", "/api/v1/auth/token", "", map[string]string{"email": "nobody@example.com", "password": "wrong password"})
		wrong.wantProblem(t, 401, "")
		unknown.wantProblem(t, 401, "")
		if string(wrong.body) != string(unknown.body) {
			t.Fatalf("wrong password and unknown email answer differently:\n%s\n%s", wrong.body, unknown.body)
		}

		// Revoked tokens stop working.
		s.call("DELETE", "/api/v1/auth/token", tok, nil).want(t, 204)
		s.call("GET", "/api/v1/me", tok, nil).wantProblem(t, 401, "")
		s.call("GET", "/api/v1/me", "", nil).wantProblem(t, 401, "")
		s.call("GET", "/api/v1/events", "not-a-token-at-all", nil).wantProblem(t, 401, "")
	})
}

func TestLoginFailuresAreRateLimited(t *testing.T) {
	s := startServer(t, testenv.Engine{Name: "sqlite", DataDir: t.TempDir()})
	s.createUser("dan@example.com", "attendee", "")
	var last response
	for range 6 {
		last = s.call("POST", "/api/v1/auth/token", "", map[string]string{"email": "dan@example.com", "password": "guess guess"})
	}
	last.wantProblem(t, 429, "")
	retry, err := strconv.Atoi(last.Header.Get("Retry-After"))
	if err != nil || retry <= 0 || retry > int((15*time.Minute).Seconds()) {
		t.Fatalf("Retry-After %q, want seconds within the 15-minute window", last.Header.Get("Retry-After"))
	}
	// Even the right password waits: a guesser must not learn it is right.
	s.call("POST", "/api/v1/auth/token", "", map[string]string{"email": "dan@example.com", "password": "a long enough password"}).wantProblem(t, 429, "")
}

func TestAuthorization(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := startServer(t, e)
		c := buildCatalogue(t, s)
		other := s.createUser("rival@example.com", "organizer", "Rival Events")
		ev := "/api/v1/events/" + c.event.ID

		// Anonymous writes: 401, whatever the body.
		for _, w := range []struct{ method, path string }{
			{"POST", "/api/v1/cities"}, {"PATCH", "/api/v1/cities/" + c.city.ID}, {"DELETE", "/api/v1/cities/" + c.city.ID},
			{"POST", "/api/v1/locations"}, {"PATCH", "/api/v1/locations/" + c.venue.ID}, {"DELETE", "/api/v1/locations/" + c.venue.ID},
			{"POST", "/api/v1/events"}, {"PATCH", ev}, {"DELETE", ev}, {"POST", ev + "/publish"}, {"POST", ev + "/cancel"},
			{"POST", ev + "/ticket-types"}, {"PATCH", ev + "/ticket-types/" + c.general.ID}, {"DELETE", ev + "/ticket-types/" + c.general.ID},
		} {
			s.call(w.method, w.path, "", "{}").wantProblem(t, 401, "")
		}

		// Attendees cannot create events, venues or cities: 403.
		s.call("POST", "/api/v1/events", c.attendee, map[string]any{"title": "Mine", "city_id": c.city.ID, "location_id": c.venue.ID,
			"starts_at": time.Now().Add(time.Hour), "ends_at": time.Now().Add(2 * time.Hour)}).wantProblem(t, 403, "")
		s.call("POST", "/api/v1/locations", c.attendee, map[string]any{"city_id": c.city.ID, "name": "Garage"}).wantProblem(t, 403, "")
		s.call("POST", "/api/v1/cities", c.organizer, map[string]any{"name": "Porto", "country": "PT", "time_zone": "Europe/Lisbon"}).wantProblem(t, 403, "")

		// Another organization's organizer cannot touch the event: 403.
		s.call("PATCH", ev, other, map[string]any{"title": "Mine now"}).wantProblem(t, 403, "")
		s.call("DELETE", ev, other, nil).wantProblem(t, 403, "")
		s.call("POST", ev+"/cancel", other, nil).wantProblem(t, 403, "")
		s.call("POST", ev+"/ticket-types", other, map[string]any{"name": "x", "price": map[string]any{"amount": 0, "currency": "EUR"}, "quantity": 1}).wantProblem(t, 403, "")
		s.call("PATCH", "/api/v1/locations/"+c.venue.ID, other, map[string]any{"name": "Mine"}).wantProblem(t, 403, "")
		// …nor use its venue.
		start := time.Now().Add(24 * time.Hour)
		s.call("POST", "/api/v1/events", other, map[string]any{"title": "Squat", "city_id": c.city.ID, "location_id": c.venue.ID,
			"starts_at": start, "ends_at": start.Add(time.Hour)}).wantProblem(t, 422, "body.location_id")

		// Drafts are invisible to the public and to other organizers: 404.
		var draft admit.Event
		s.call("POST", "/api/v1/events", c.organizer, map[string]any{"title": "Secret", "city_id": c.city.ID, "location_id": c.venue.ID,
			"starts_at": start, "ends_at": start.Add(time.Hour)}).want(t, 201).decode(t, &draft)
		s.call("GET", "/api/v1/events/"+draft.ID, "", nil).wantProblem(t, 404, "")
		s.call("GET", "/api/v1/events/"+draft.ID, other, nil).wantProblem(t, 404, "")
		s.call("PATCH", "/api/v1/events/"+draft.ID, other, map[string]any{"title": "x"}).wantProblem(t, 404, "")
		if r := s.call("GET", "/api/v1/events/"+draft.ID, c.organizer, nil).want(t, 200); r.Header.Get("Cache-Control") != "private, no-store" {
			t.Fatalf("a draft is served with Cache-Control %q", r.Header.Get("Cache-Control"))
		}
		var mine list[admit.Event]
		s.call("GET", "/api/v1/events?organization_id="+c.event.OrganizationID, c.organizer, nil).want(t, 200).decode(t, &mine)
		if len(mine.Items) != 2 {
			t.Fatalf("the organizer's own list has %d events, want the published one and the draft", len(mine.Items))
		}
		var theirs list[admit.Event]
		s.call("GET", "/api/v1/events?organization_id="+c.event.OrganizationID, other, nil).want(t, 200).decode(t, &theirs)
		if len(theirs.Items) != 1 {
			t.Fatalf("another organizer sees %d of this organization's events, want only the published one", len(theirs.Items))
		}

		// The admin may do everything; deleting a city in use is a conflict.
		s.call("PATCH", ev, c.admin, map[string]any{"description": "Edited by the admin"}).want(t, 200)
		s.call("DELETE", "/api/v1/cities/"+c.city.ID, c.admin, nil).wantProblem(t, 409, "")
		s.call("DELETE", "/api/v1/events/"+draft.ID, c.organizer, nil).want(t, 204)
		s.call("POST", ev+"/cancel", c.organizer, nil).want(t, 200)
		s.call("PATCH", ev, c.organizer, map[string]any{"title": "Back"}).wantProblem(t, 409, "")
	})
}
