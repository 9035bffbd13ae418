package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

func TestEventLifecycle(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		f := newFixture(t, e)
		db, anon := f.db, context.Background()
		auckland := f.city(t, "Auckland", "NZ", "Pacific/Auckland")
		venue := f.location(t, f.org, auckland, "Spark Arena")

		// Given in UTC; 07:00 UTC is 20:00 in Auckland (NZDT, +13).
		start := time.Date(2031, time.March, 20, 7, 0, 0, 0, time.UTC)
		event := &admit.Event{
			Title: "  Harbour Lights ", Description: "Lights.", Category: "Festival", Tags: []string{" night ", "outdoor"},
			CityID: auckland.ID, LocationID: venue.ID, StartsAt: start, EndsAt: start.Add(3 * time.Hour),
			Country: "DE", TimeZone: "Europe/Berlin", Status: admit.EventPublished, // ignored: the city decides, drafts first
		}
		must(t, "CreateEvent", db.CreateEvent(f.org, event))

		check := func(what string, got *admit.Event) {
			t.Helper()
			if !strings.HasPrefix(got.ID, "evt_") || !admit.ValidID(got.ID) {
				t.Errorf("%s: id = %q, want a valid evt_ id", what, got.ID)
			}
			if got.Status != admit.EventDraft {
				t.Errorf("%s: status = %q, want draft", what, got.Status)
			}
			if got.OrganizationID != f.orgID {
				t.Errorf("%s: organization = %q, want %q", what, got.OrganizationID, f.orgID)
			}
			if got.TimeZone != "Pacific/Auckland" || got.Country != "NZ" {
				t.Errorf("%s: zone, country = %q, %q; want Pacific/Auckland, NZ (the city's)", what, got.TimeZone, got.Country)
			}
			if !got.StartsAt.Equal(start) || !got.EndsAt.Equal(start.Add(3*time.Hour)) {
				t.Errorf("%s: times = %v – %v, want %v – %v", what, got.StartsAt, got.EndsAt, start, start.Add(3*time.Hour))
			}
			if got.StartsAt.Location().String() != "Pacific/Auckland" || got.EndsAt.Location().String() != "Pacific/Auckland" {
				t.Errorf("%s: times in zones %v/%v, want Pacific/Auckland", what, got.StartsAt.Location(), got.EndsAt.Location())
			}
			if s := got.StartsAt.Format(time.RFC3339); s != "2031-03-20T20:00:00+13:00" {
				t.Errorf("%s: starts_at renders as %s, want 2031-03-20T20:00:00+13:00", what, s)
			}
			if got.Title != "Harbour Lights" || !sameStrings(got.Tags, []string{"night", "outdoor"}) {
				t.Errorf("%s: title, tags = %q, %q; want trimmed Harbour Lights, [night outdoor]", what, got.Title, got.Tags)
			}
			if !got.CreatedAt.Equal(testNow) || !got.UpdatedAt.Equal(testNow) {
				t.Errorf("%s: created, updated = %v, %v; want the clock's %v", what, got.CreatedAt, got.UpdatedAt, testNow)
			}
		}
		check("CreateEvent", event)
		found, err := db.FindEvent(f.org, event.ID)
		must(t, "FindEvent", err)
		check("FindEvent", found)
		if len(found.TicketTypes) != 0 {
			t.Errorf("FindEvent: %d ticket types, want 0", len(found.TicketTypes))
		}
		_, err = db.FindEvent(anon, event.ID)
		wantCode(t, "anonymous FindEvent(draft)", err, admit.ENOTFOUND)

		// Publishing needs a ticket type.
		_, err = db.PublishEvent(f.org, event.ID)
		wantCode(t, "PublishEvent without ticket types", err, admit.ECONFLICT)
		if got, _ := db.FindEvent(f.org, event.ID); got == nil || got.Status != admit.EventDraft {
			t.Fatalf("after a refused publish, event = %+v, want a draft", got)
		}

		// Ticket type defaults: on sale from now until the start, 1 to 10, general.
		f.setNow(testNow.Add(time.Hour))
		tt := &admit.TicketType{EventID: event.ID, Name: " Standing ", Price: admit.Money{Amount: 4500, Currency: "NZD"}, Quantity: 300}
		must(t, "CreateTicketType", db.CreateTicketType(f.org, tt))
		checkType := func(what string, got admit.TicketType, avail int64) {
			t.Helper()
			if !strings.HasPrefix(got.ID, "tkt_") || got.EventID != event.ID || got.Name != "Standing" || got.Kind != admit.DefaultKind {
				t.Errorf("%s: id, event, name, kind = %q, %q, %q, %q; want tkt_…, %q, Standing, general", what, got.ID, got.EventID, got.Name, got.Kind, event.ID)
			}
			if !got.SaleStartsAt.Equal(testNow.Add(time.Hour)) || !got.SaleEndsAt.Equal(start) {
				t.Errorf("%s: sale window = %v – %v, want now (%v) – event start (%v)", what, got.SaleStartsAt, got.SaleEndsAt, testNow.Add(time.Hour), start)
			}
			if got.SaleStartsAt.Location().String() != "Pacific/Auckland" || got.SaleEndsAt.Location().String() != "Pacific/Auckland" {
				t.Errorf("%s: sale window in zone %v, want the event's", what, got.SaleStartsAt.Location())
			}
			if got.MinPerOrder != 1 || got.MaxPerOrder != admit.DefaultMaxPerOrder {
				t.Errorf("%s: per order = %d–%d, want 1–%d", what, got.MinPerOrder, got.MaxPerOrder, admit.DefaultMaxPerOrder)
			}
			if got.Price != (admit.Money{Amount: 4500, Currency: "NZD"}) || got.Quantity != 300 {
				t.Errorf("%s: price, quantity = %+v, %d; want 4500 NZD, 300", what, got.Price, got.Quantity)
			}
			if got.Available == nil || *got.Available != avail {
				t.Errorf("%s: available = %v, want %d", what, ptrString(got.Available), avail)
			}
		}
		checkType("CreateTicketType", *tt, 300)
		found, err = db.FindEvent(f.org, event.ID)
		must(t, "FindEvent", err)
		if len(found.TicketTypes) != 1 {
			t.Fatalf("FindEvent: %d ticket types, want 1", len(found.TicketTypes))
		}
		checkType("FindEvent", found.TicketTypes[0], 300)

		published, err := db.PublishEvent(f.org, event.ID)
		must(t, "PublishEvent", err)
		if published.Status != admit.EventPublished || !published.UpdatedAt.Equal(testNow.Add(time.Hour)) {
			t.Errorf("PublishEvent: status, updated = %q, %v; want published, %v", published.Status, published.UpdatedAt, testNow.Add(time.Hour))
		}
		_, err = db.PublishEvent(f.org, event.ID)
		wantCode(t, "PublishEvent twice", err, admit.ECONFLICT)
		if _, err := db.FindEvent(anon, event.ID); err != nil {
			t.Errorf("anonymous FindEvent(published): %v", err)
		}

		// Available is the quantity less what is sold, exactly, in FindEvent only.
		f.exec(t, `UPDATE ticket_types SET sold = 42 WHERE id = $1`, tt.ID)
		found, err = db.FindEvent(anon, event.ID)
		must(t, "FindEvent", err)
		checkType("FindEvent after sales", found.TicketTypes[0], 258)
		listed, _, err := db.ListEvents(anon, admit.EventFilter{})
		must(t, "ListEvents", err)
		if len(listed) != 1 || listed[0].ID != event.ID {
			t.Fatalf("ListEvents = %q, want the published event", titles(listed))
		}
		if n := len(listed[0].TicketTypes); n != 1 {
			t.Fatalf("ListEvents: %d ticket types, want 1", n)
		}
		if a := listed[0].TicketTypes[0].Available; a != nil {
			t.Errorf("ListEvents: available = %d, want nil (lists are cacheable, not exact)", *a)
		}
		if got := listed[0]; got.TimeZone != "Pacific/Auckland" || got.StartsAt.Format(time.RFC3339) != "2031-03-20T20:00:00+13:00" {
			t.Errorf("ListEvents: zone, start = %q, %s; want the city's zone", got.TimeZone, got.StartsAt.Format(time.RFC3339))
		}

		// Cancelling is final and unlists the event.
		cancelled, err := db.CancelEvent(f.org, event.ID)
		must(t, "CancelEvent", err)
		if cancelled.Status != admit.EventCancelled {
			t.Errorf("CancelEvent: status = %q, want cancelled", cancelled.Status)
		}
		_, err = db.CancelEvent(f.org, event.ID)
		wantCode(t, "CancelEvent twice", err, admit.ECONFLICT)
		_, err = db.PublishEvent(f.org, event.ID)
		wantCode(t, "PublishEvent(cancelled)", err, admit.ECONFLICT)
		_, err = db.UpdateEvent(f.org, event.ID, admit.EventUpdate{Title: new("Back")})
		wantCode(t, "UpdateEvent(cancelled)", err, admit.ECONFLICT)
		wantCode(t, "CreateTicketType(cancelled)", db.CreateTicketType(f.org, &admit.TicketType{EventID: event.ID, Name: "Late", Price: eur(1), Quantity: 1}), admit.ECONFLICT)
		if got, err := db.FindEvent(anon, event.ID); err != nil || got.Status != admit.EventCancelled {
			t.Errorf("anonymous FindEvent(cancelled) = %v, %v; want the cancelled event", got, err)
		}
		listed, _, err = db.ListEvents(anon, admit.EventFilter{})
		must(t, "ListEvents", err)
		if len(listed) != 0 {
			t.Errorf("ListEvents after cancel = %q, want none", titles(listed))
		}
	})
}

func ptrString(p *int64) any {
	if p == nil {
		return "nil"
	}
	return *p
}

func TestTicketTypeRules(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		f := newFixture(t, e)
		db := f.db
		c := f.city(t, "Wien", "AT", "Europe/Vienna")
		event := f.newEvent(t, f.org, eventSpec{title: "Opernball", loc: f.location(t, f.org, c, "Staatsoper"), start: testNow.Add(30 * 24 * time.Hour), prices: []admit.Money{eur(30000)}})
		id := event.TicketTypes[0].ID

		explicit := &admit.TicketType{EventID: event.ID, Name: "Loge", Kind: "vip", Price: eur(90000), Quantity: 20,
			SaleStartsAt: testNow.Add(24 * time.Hour), SaleEndsAt: testNow.Add(48 * time.Hour), MinPerOrder: 2, MaxPerOrder: 4}
		must(t, "CreateTicketType(explicit)", db.CreateTicketType(f.org, explicit))
		if explicit.Kind != "vip" || explicit.MinPerOrder != 2 || explicit.MaxPerOrder != 4 ||
			!explicit.SaleStartsAt.Equal(testNow.Add(24*time.Hour)) || !explicit.SaleEndsAt.Equal(testNow.Add(48*time.Hour)) {
			t.Errorf("CreateTicketType kept %+v, want the given kind, limits and window", explicit)
		}
		wantCode(t, "CreateTicketType(bad currency)", db.CreateTicketType(f.org, &admit.TicketType{EventID: event.ID, Name: "X", Price: admit.Money{Amount: 1, Currency: "EURO"}, Quantity: 1}), admit.EINVALID)

		// Partial update: only the set fields change.
		got, err := db.UpdateTicketType(f.org, event.ID, id, admit.TicketTypeUpdate{Quantity: new(int64(50))})
		must(t, "UpdateTicketType", err)
		if got.Quantity != 50 || got.Price != eur(30000) || got.Name != "Ticket 1" || got.Available == nil || *got.Available != 50 {
			t.Errorf("UpdateTicketType(quantity) = %+v, want quantity 50, the rest unchanged", got)
		}
		f.exec(t, `UPDATE ticket_types SET sold = 10 WHERE id = $1`, id)
		_, err = db.UpdateTicketType(f.org, event.ID, id, admit.TicketTypeUpdate{Quantity: new(int64(9))})
		wantCode(t, "UpdateTicketType(quantity below sold)", err, admit.EINVALID)
		_, err = db.UpdateTicketType(f.org, event.ID, id, admit.TicketTypeUpdate{Price: new(usd(30000))})
		wantCode(t, "UpdateTicketType(currency after sales)", err, admit.ECONFLICT)
		wantCode(t, "DeleteTicketType(sold)", db.DeleteTicketType(f.org, event.ID, id), admit.ECONFLICT)
		must(t, "DeleteTicketType(unsold)", db.DeleteTicketType(f.org, event.ID, explicit.ID))
		found, err := db.FindEvent(f.org, event.ID)
		must(t, "FindEvent", err)
		if len(found.TicketTypes) != 1 || found.TicketTypes[0].ID != id || *found.TicketTypes[0].Available != 40 {
			t.Errorf("FindEvent ticket types = %+v, want only %s with 40 available", found.TicketTypes, id)
		}
	})
}

func TestUpdateEvent(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		f := newFixture(t, e)
		db := f.db
		berlin := f.city(t, "Berlin", "DE", "Europe/Berlin")
		lisbon := f.city(t, "Lisboa", "PT", "Europe/Lisbon")
		berghain := f.location(t, f.org, berlin, "Berghain")
		watergate := f.location(t, f.org, berlin, "Watergate")
		lux := f.location(t, f.org, lisbon, "Lux Frágil")
		start := time.Date(2031, time.April, 4, 22, 0, 0, 0, time.UTC)
		event := &admit.Event{Title: "Klubnacht", Description: "All night.", Category: "Music", Tags: []string{"techno"},
			CityID: berlin.ID, LocationID: berghain.ID, StartsAt: start, EndsAt: start.Add(10 * time.Hour), StreamURL: "https://stream.example.com/k"}
		must(t, "CreateEvent", db.CreateEvent(f.org, event))
		must(t, "CreateTicketType", db.CreateTicketType(f.org, &admit.TicketType{EventID: event.ID, Name: "Door", Price: eur(2500), Quantity: 800}))
		f.publish(t, f.org, event)
		before, err := db.FindEvent(f.org, event.ID)
		must(t, "FindEvent", err)

		// Only the title is set: nothing else moves, updated_at follows the clock.
		later := testNow.Add(90 * time.Minute)
		f.setNow(later)
		got, err := db.UpdateEvent(f.org, event.ID, admit.EventUpdate{Title: new("Klubnacht Special")})
		must(t, "UpdateEvent(title)", err)
		want := *before
		want.Title, want.UpdatedAt = "Klubnacht Special", later
		sameEvent(t, "UpdateEvent(title)", got, &want)

		got, err = db.UpdateEvent(f.org, event.ID, admit.EventUpdate{Tags: &[]string{"techno", "house"}, Description: new("Two floors.")})
		must(t, "UpdateEvent(tags, description)", err)
		want.Tags, want.Description = []string{"techno", "house"}, "Two floors."
		sameEvent(t, "UpdateEvent(tags, description)", got, &want)

		// Another venue in the same city.
		got, err = db.UpdateEvent(f.org, event.ID, admit.EventUpdate{LocationID: &watergate.ID})
		must(t, "UpdateEvent(location in the city)", err)
		want.LocationID = watergate.ID
		sameEvent(t, "UpdateEvent(location in the city)", got, &want)

		// A venue in another city without moving the city is invalid, and so
		// is a city whose venue is not named.
		_, err = db.UpdateEvent(f.org, event.ID, admit.EventUpdate{LocationID: &lux.ID})
		wantCode(t, "UpdateEvent(venue in another city)", err, admit.EINVALID)
		_, err = db.UpdateEvent(f.org, event.ID, admit.EventUpdate{CityID: &lisbon.ID})
		wantCode(t, "UpdateEvent(city without its venue)", err, admit.EINVALID)
		_, err = db.UpdateEvent(f.org, event.ID, admit.EventUpdate{EndsAt: new(start.Add(-time.Hour))})
		wantCode(t, "UpdateEvent(ends before it starts)", err, admit.EINVALID)
		unchanged, err := db.FindEvent(f.org, event.ID)
		must(t, "FindEvent", err)
		sameEvent(t, "after refused updates", unchanged, &want)

		// Moving city and venue together takes the new city's zone and country.
		got, err = db.UpdateEvent(f.org, event.ID, admit.EventUpdate{CityID: &lisbon.ID, LocationID: &lux.ID})
		must(t, "UpdateEvent(city and venue)", err)
		if got.CityID != lisbon.ID || got.LocationID != lux.ID || got.Country != "PT" || got.TimeZone != "Europe/Lisbon" {
			t.Errorf("after moving: city, venue, country, zone = %s, %s, %s, %s; want Lisboa's", got.CityID, got.LocationID, got.Country, got.TimeZone)
		}
		if !got.StartsAt.Equal(start) || got.StartsAt.Location().String() != "Europe/Lisbon" {
			t.Errorf("after moving: starts_at = %v, want the same instant in Europe/Lisbon", got.StartsAt)
		}
		if got.Title != "Klubnacht Special" || len(got.TicketTypes) != 1 {
			t.Errorf("after moving: title %q, %d ticket types; want them kept", got.Title, len(got.TicketTypes))
		}

		// The search document follows the new title and venue.
		anon := context.Background()
		for q, want := range map[string]int{"special": 1, "lux": 1, "lisboa": 1, "berghain": 0, "watergate": 0, "berlin": 0} {
			events, _, err := db.ListEvents(anon, admit.EventFilter{Query: q})
			must(t, "ListEvents(q="+q+")", err)
			if len(events) != want {
				t.Errorf("ListEvents(q=%q) after update = %q, want %d event(s)", q, titles(events), want)
			}
		}
		_, err = db.UpdateLocation(f.org, lux.ID, admit.LocationUpdate{Name: new("Musicbox")})
		must(t, "UpdateLocation", err)
		if events, _, err := db.ListEvents(anon, admit.EventFilter{Query: "musicbox"}); err != nil || len(events) != 1 {
			t.Errorf("ListEvents(q=musicbox) after renaming the venue = %q, %v; want the event", titles(events), err)
		}
	})
}

// sameEvent compares the fields of an event an update may change.
func sameEvent(t *testing.T, what string, got, want *admit.Event) {
	t.Helper()
	type view struct {
		Title, Description, Category, City, Country, Location, Zone, Stream string
		Tags                                                                []string
		Status                                                              admit.EventStatus
		Starts, Ends, Created, Updated                                      string
	}
	v := func(e *admit.Event) view {
		return view{e.Title, e.Description, e.Category, e.CityID, e.Country, e.LocationID, e.TimeZone, e.StreamURL, e.Tags, e.Status,
			e.StartsAt.Format(time.RFC3339Nano), e.EndsAt.Format(time.RFC3339Nano), e.CreatedAt.Format(time.RFC3339Nano), e.UpdatedAt.Format(time.RFC3339Nano)}
	}
	g, w := v(got), v(want)
	if g.Title != w.Title || g.Description != w.Description || g.Category != w.Category || g.City != w.City || g.Country != w.Country ||
		g.Location != w.Location || g.Zone != w.Zone || g.Stream != w.Stream || !sameStrings(g.Tags, w.Tags) || g.Status != w.Status ||
		g.Starts != w.Starts || g.Ends != w.Ends || g.Created != w.Created || g.Updated != w.Updated {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
	if len(got.TicketTypes) != len(want.TicketTypes) {
		t.Errorf("%s: %d ticket types, want %d", what, len(got.TicketTypes), len(want.TicketTypes))
	}
}

func TestDeleteEvent(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		f := newFixture(t, e)
		db, anon := f.db, context.Background()
		c := f.city(t, "Zürich", "CH", "Europe/Zurich")
		l := f.location(t, f.org, c, "Hallenstadion")
		event := f.newEvent(t, f.org, eventSpec{title: "Street Parade", loc: l, start: testNow.Add(5 * 24 * time.Hour), prices: []admit.Money{eur(0), eur(5000)}})

		// An event with orders must be cancelled instead.
		buyer, _ := f.user(t, "buyer@example.com", admit.RoleAttendee, "")
		_, err := db.CreateOrder(buyer, admit.NewOrder{EventID: event.ID, Items: []admit.NewOrderItem{{TicketTypeID: event.TicketTypes[1].ID, Quantity: 1}}})
		must(t, "CreateOrder", err)
		wantCode(t, "DeleteEvent with orders", db.DeleteEvent(f.org, event.ID), admit.ECONFLICT)
		if got, err := db.FindEvent(anon, event.ID); err != nil || len(got.TicketTypes) != 2 {
			t.Fatalf("after a refused delete FindEvent = %v, %v; want the event with 2 ticket types", got, err)
		}
		if events, _, err := db.ListEvents(anon, admit.EventFilter{Query: "parade"}); err != nil || len(events) != 1 {
			t.Errorf("after a refused delete ListEvents(q=parade) = %q, %v; want the event", titles(events), err)
		}

		// Without its order (removed behind the service's back) it can go.
		for _, q := range []string{`DELETE FROM holds`, `DELETE FROM order_items`, `DELETE FROM orders`, `UPDATE ticket_types SET held = 0`} {
			f.exec(t, q)
		}
		must(t, "DeleteEvent", db.DeleteEvent(f.org, event.ID))
		_, err = db.FindEvent(f.org, event.ID)
		wantCode(t, "FindEvent after delete", err, admit.ENOTFOUND)
		wantCode(t, "DeleteEvent twice", db.DeleteEvent(f.org, event.ID), admit.ENOTFOUND)
		var n int
		must(t, "count ticket types", db.primary.QueryRow(`SELECT COUNT(*) FROM ticket_types WHERE event_id = $1`, event.ID).Scan(&n))
		if n != 0 {
			t.Errorf("%d ticket types left after DeleteEvent, want 0", n)
		}
		if events, _, err := db.ListEvents(anon, admit.EventFilter{Query: "parade"}); err != nil || len(events) != 0 {
			t.Errorf("after delete ListEvents(q=parade) = %q, %v; want none", titles(events), err)
		}
		if db.engine == sqliteEngine {
			must(t, "count search rows", db.primary.QueryRow(`SELECT COUNT(*) FROM event_search`).Scan(&n))
			if n != 0 {
				t.Errorf("%d search documents left after DeleteEvent, want 0", n)
			}
		}
		// The venue is free again.
		must(t, "DeleteLocation after the event is gone", db.DeleteLocation(f.org, l.ID))
	})
}

// TestStripeNeedsStripe: an event can be set to pay by Stripe only on a
// server that can take Stripe payments; who may not change the event is
// told so first.
func TestStripeNeedsStripe(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		f := newFixture(t, e)
		city := f.city(t, unique("City"), "DE", "Europe/Berlin")
		loc := f.location(t, f.org, city, "Hall")
		spec := func(provider string) *admit.Event {
			return &admit.Event{Title: "Card", CityID: city.ID, LocationID: loc.ID, StartsAt: testNow.Add(24 * time.Hour),
				EndsAt: testNow.Add(26 * time.Hour), PaymentProvider: provider}
		}
		wantCode(t, "CreateEvent(stripe) without Stripe", f.db.CreateEvent(f.org, spec(admit.ProviderStripe)), admit.EINVALID)
		ev := spec(admit.ProviderManual)
		must(t, "CreateEvent(manual)", f.db.CreateEvent(f.org, ev))
		stripe := admit.ProviderStripe
		_, err := f.db.UpdateEvent(f.org, ev.ID, admit.EventUpdate{PaymentProvider: &stripe})
		wantCode(t, "UpdateEvent(stripe) without Stripe", err, admit.EINVALID)
		other, _ := f.user(t, "other-org@example.com", admit.RoleOrganizer, "Org B")
		_, err = f.db.UpdateEvent(other, ev.ID, admit.EventUpdate{PaymentProvider: &stripe})
		if code := admit.ErrorCode(err); code != admit.EFORBIDDEN && code != admit.ENOTFOUND {
			t.Fatalf("another organization's organizer: %v, want forbidden or not found before the provider check", err)
		}
		f.db.StripeEnabled = true
		_, err = f.db.UpdateEvent(f.org, ev.ID, admit.EventUpdate{PaymentProvider: &stripe})
		must(t, "UpdateEvent(stripe) with Stripe", err)
	})
}
