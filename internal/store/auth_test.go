package store

import (
	"context"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

// TestAuthorization checks the rights the store enforces from the caller in
// the context: anonymous callers write nothing, attendees create nothing,
// organizers touch only their organization's things, admins everything.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		f := newFixture(t, e)
		db := f.db
		anon := context.Background()
		orgB, userB := f.user(t, "org-b@example.com", admit.RoleOrganizer, "Org B")
		attendee, _ := f.user(t, "fan@example.com", admit.RoleAttendee, "")

		city := f.city(t, "Leipzig", "DE", "Europe/Berlin")
		spare := f.city(t, "Halle", "DE", "Europe/Berlin")
		locA := f.location(t, f.org, city, "Werk 2")
		locB := f.location(t, orgB, city, "Moritzbastei")
		start := testNow.Add(10 * 24 * time.Hour)
		pubB := f.newEvent(t, orgB, eventSpec{title: "B Published", loc: locB, start: start, prices: []admit.Money{eur(1000)}})
		draftB := f.newEvent(t, orgB, eventSpec{title: "B Draft", loc: locB, start: start, prices: []admit.Money{eur(1000)}, status: admit.EventDraft})
		ttB := pubB.TicketTypes[0].ID
		newEventAt := func(l *admit.Location) *admit.Event {
			return &admit.Event{Title: "New", CityID: l.CityID, LocationID: l.ID, StartsAt: start, EndsAt: start.Add(time.Hour)}
		}

		type call struct {
			name string
			do   func(ctx context.Context) error
		}
		writes := []call{
			{"CreateCity", func(ctx context.Context) error {
				return db.CreateCity(ctx, &admit.City{Name: unique("Town"), Country: "DE", TimeZone: "Europe/Berlin"})
			}},
			{"UpdateCity", func(ctx context.Context) error {
				_, err := db.UpdateCity(ctx, spare.ID, admit.CityUpdate{Name: new("Renamed")})
				return err
			}},
			{"DeleteCity", func(ctx context.Context) error { return db.DeleteCity(ctx, spare.ID) }},
			{"CreateLocation", func(ctx context.Context) error {
				return db.CreateLocation(ctx, &admit.Location{CityID: city.ID, Name: "Hall"})
			}},
			{"UpdateLocation(B's)", func(ctx context.Context) error {
				_, err := db.UpdateLocation(ctx, locB.ID, admit.LocationUpdate{Name: new("Taken")})
				return err
			}},
			{"DeleteLocation(B's)", func(ctx context.Context) error { return db.DeleteLocation(ctx, locB.ID) }},
			{"CreateEvent", func(ctx context.Context) error { return db.CreateEvent(ctx, newEventAt(locA)) }},
			{"UpdateEvent(B published)", func(ctx context.Context) error {
				_, err := db.UpdateEvent(ctx, pubB.ID, admit.EventUpdate{Title: new("Hijacked")})
				return err
			}},
			{"DeleteEvent(B published)", func(ctx context.Context) error { return db.DeleteEvent(ctx, pubB.ID) }},
			{"CancelEvent(B published)", func(ctx context.Context) error {
				_, err := db.CancelEvent(ctx, pubB.ID)
				return err
			}},
			{"CreateTicketType(B published)", func(ctx context.Context) error {
				return db.CreateTicketType(ctx, &admit.TicketType{EventID: pubB.ID, Name: "Free", Price: eur(0), Quantity: 1000})
			}},
			{"UpdateTicketType(B published)", func(ctx context.Context) error {
				_, err := db.UpdateTicketType(ctx, pubB.ID, ttB, admit.TicketTypeUpdate{Price: new(eur(0))})
				return err
			}},
			{"DeleteTicketType(B published)", func(ctx context.Context) error { return db.DeleteTicketType(ctx, pubB.ID, ttB) }},
			{"UpdateEvent(B draft)", func(ctx context.Context) error {
				_, err := db.UpdateEvent(ctx, draftB.ID, admit.EventUpdate{Title: new("Hijacked")})
				return err
			}},
			{"PublishEvent(B draft)", func(ctx context.Context) error {
				_, err := db.PublishEvent(ctx, draftB.ID)
				return err
			}},
			{"DeleteEvent(B draft)", func(ctx context.Context) error { return db.DeleteEvent(ctx, draftB.ID) }},
		}

		t.Run("anonymous", func(t *testing.T) {
			for _, c := range writes {
				wantCode(t, c.name, c.do(anon), admit.EUNAUTHORIZED)
			}
		})

		t.Run("attendee", func(t *testing.T) {
			want := map[string]string{
				"CreateCity": admit.EFORBIDDEN, "UpdateCity": admit.EFORBIDDEN, "DeleteCity": admit.EFORBIDDEN,
				"CreateLocation": admit.EFORBIDDEN, "UpdateLocation(B's)": admit.EFORBIDDEN, "DeleteLocation(B's)": admit.EFORBIDDEN,
				"CreateEvent": admit.EFORBIDDEN,
				// Another organization's event: forbidden if published, invisible if a draft.
				"UpdateEvent(B published)": admit.EFORBIDDEN, "DeleteEvent(B published)": admit.EFORBIDDEN,
				"CancelEvent(B published)": admit.EFORBIDDEN, "CreateTicketType(B published)": admit.EFORBIDDEN,
				"UpdateTicketType(B published)": admit.EFORBIDDEN, "DeleteTicketType(B published)": admit.EFORBIDDEN,
				"UpdateEvent(B draft)": admit.ENOTFOUND, "PublishEvent(B draft)": admit.ENOTFOUND, "DeleteEvent(B draft)": admit.ENOTFOUND,
			}
			for _, c := range writes {
				wantCode(t, c.name, c.do(attendee), want[c.name])
			}
		})

		t.Run("organizer of another organization", func(t *testing.T) {
			want := map[string]string{
				"CreateCity": admit.EFORBIDDEN, "UpdateCity": admit.EFORBIDDEN, "DeleteCity": admit.EFORBIDDEN,
				"UpdateLocation(B's)": admit.EFORBIDDEN, "DeleteLocation(B's)": admit.EFORBIDDEN,
				"UpdateEvent(B published)": admit.EFORBIDDEN, "DeleteEvent(B published)": admit.EFORBIDDEN,
				"CancelEvent(B published)": admit.EFORBIDDEN, "CreateTicketType(B published)": admit.EFORBIDDEN,
				"UpdateTicketType(B published)": admit.EFORBIDDEN, "DeleteTicketType(B published)": admit.EFORBIDDEN,
				"UpdateEvent(B draft)": admit.ENOTFOUND, "PublishEvent(B draft)": admit.ENOTFOUND, "DeleteEvent(B draft)": admit.ENOTFOUND,
			}
			for _, c := range writes {
				if code, ok := want[c.name]; ok {
					wantCode(t, c.name, c.do(f.org), code)
				}
			}
			_, err := db.FindEvent(f.org, draftB.ID)
			wantCode(t, "FindEvent(B draft)", err, admit.ENOTFOUND)
			_, err = db.FindEvent(anon, draftB.ID)
			wantCode(t, "FindEvent(B draft) anonymously", err, admit.ENOTFOUND)

			e := newEventAt(locA)
			e.OrganizationID = userB.OrganizationIDs[0]
			wantCode(t, "CreateEvent for organization B", db.CreateEvent(f.org, e), admit.EFORBIDDEN)
			wantCode(t, "CreateEvent at B's venue", db.CreateEvent(f.org, newEventAt(locB)), admit.EINVALID)
			l := &admit.Location{CityID: city.ID, Name: "Hall", OrganizationID: userB.OrganizationIDs[0]}
			wantCode(t, "CreateLocation for organization B", db.CreateLocation(f.org, l), admit.EFORBIDDEN)

			// Nothing of B's changed.
			got, err := db.FindEvent(orgB, pubB.ID)
			must(t, "FindEvent(B published)", err)
			if got.Title != "B Published" || got.Status != admit.EventPublished || len(got.TicketTypes) != 1 || got.TicketTypes[0].Price != eur(1000) {
				t.Errorf("B's published event after refused writes = %q %s %+v, want it unchanged", got.Title, got.Status, got.TicketTypes)
			}
			got, err = db.FindEvent(orgB, draftB.ID)
			must(t, "FindEvent(B draft) by B", err)
			if got.Title != "B Draft" || got.Status != admit.EventDraft {
				t.Errorf("B's draft after refused writes = %q %s, want B Draft draft", got.Title, got.Status)
			}
			if l, err := db.FindLocation(anon, locB.ID); err != nil || l.Name != "Moritzbastei" {
				t.Errorf("B's venue after refused writes = %+v, %v; want Moritzbastei", l, err)
			}
			if c, err := db.FindCity(anon, spare.ID); err != nil || c.Name != "Halle" {
				t.Errorf("city after refused writes = %+v, %v; want Halle", c, err)
			}
		})

		t.Run("organizer of the organization", func(t *testing.T) {
			if _, err := db.FindEvent(orgB, draftB.ID); err != nil {
				t.Errorf("FindEvent(own draft): %v", err)
			}
			e := newEventAt(locA)
			if err := db.CreateEvent(f.org, e); err != nil {
				t.Fatalf("CreateEvent at own venue: %v", err)
			}
			if e.OrganizationID != f.orgID {
				t.Errorf("CreateEvent: organization = %q, want the caller's %q", e.OrganizationID, f.orgID)
			}
			if _, err := db.UpdateLocation(f.org, locA.ID, admit.LocationUpdate{Capacity: new(int64(900))}); err != nil {
				t.Errorf("UpdateLocation(own venue): %v", err)
			}
		})

		t.Run("admin", func(t *testing.T) {
			admin := f.admin
			if _, err := db.FindEvent(admin, draftB.ID); err != nil {
				t.Errorf("FindEvent(B draft): %v", err)
			}
			got, err := db.UpdateEvent(admin, draftB.ID, admit.EventUpdate{Title: new("Edited by admin")})
			if err != nil || got.Title != "Edited by admin" {
				t.Errorf("UpdateEvent(B draft) = %v, %v; want the new title", got, err)
			}
			if _, err := db.PublishEvent(admin, draftB.ID); err != nil {
				t.Errorf("PublishEvent(B draft): %v", err)
			}
			if err := db.CreateTicketType(admin, &admit.TicketType{EventID: pubB.ID, Name: "Extra", Price: eur(0), Quantity: 5}); err != nil {
				t.Errorf("CreateTicketType(B published): %v", err)
			}
			if _, err := db.UpdateLocation(admin, locB.ID, admit.LocationUpdate{Name: new("Moritzbastei Keller")}); err != nil {
				t.Errorf("UpdateLocation(B's): %v", err)
			}
			e := newEventAt(locB)
			e.OrganizationID = userB.OrganizationIDs[0]
			if err := db.CreateEvent(admin, e); err != nil {
				t.Errorf("CreateEvent for organization B: %v", err)
			}
			wantCode(t, "CreateEvent without an organization", db.CreateEvent(admin, newEventAt(locA)), admit.EINVALID)
			shared := &admit.Location{CityID: city.ID, Name: "Shared Arena"}
			if err := db.CreateLocation(admin, shared); err != nil || shared.OrganizationID != "" {
				t.Errorf("CreateLocation(shared) = %q, %v; want a venue of no organization", shared.OrganizationID, err)
			}
			// A shared venue is the admins' to change, and every organizer's to use.
			_, err = db.UpdateLocation(f.org, shared.ID, admit.LocationUpdate{Name: new("Mine")})
			wantCode(t, "organizer UpdateLocation(shared)", err, admit.EFORBIDDEN)
			if err := db.CreateEvent(f.org, newEventAt(shared)); err != nil {
				t.Errorf("organizer CreateEvent at a shared venue: %v", err)
			}
			if _, err := db.CancelEvent(admin, pubB.ID); err != nil {
				t.Errorf("CancelEvent(B published): %v", err)
			}
			if _, err := db.UpdateCity(admin, spare.ID, admit.CityUpdate{Name: new("Halle (Saale)")}); err != nil {
				t.Errorf("UpdateCity: %v", err)
			}
			if err := db.DeleteCity(admin, spare.ID); err != nil {
				t.Errorf("DeleteCity: %v", err)
			}
			if err := db.CreateCity(admin, &admit.City{Name: "Dresden", Country: "DE", TimeZone: "Europe/Berlin"}); err != nil {
				t.Errorf("CreateCity: %v", err)
			}
			d2 := f.newEvent(t, orgB, eventSpec{title: "B Draft 2", loc: locB, start: start, status: admit.EventDraft})
			if err := db.DeleteEvent(admin, d2.ID); err != nil {
				t.Errorf("DeleteEvent(B draft): %v", err)
			}
		})
	})
}
