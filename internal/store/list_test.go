package store

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

// localTime returns a wall clock time in zone.
func localTime(t testing.TB, zone string, y int, m time.Month, d, hh, mm int) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatalf("zone %s: %v", zone, err)
	}
	return time.Date(y, m, d, hh, mm, 0, 0, loc)
}

func TestListEventsFilters(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		f := newFixture(t, e)
		db, anon := f.db, context.Background()
		berlin := f.city(t, "Berlin", "DE", "Europe/Berlin")
		munich := f.city(t, "München", "DE", "Europe/Berlin")
		paris := f.city(t, "Paris", "FR", "Europe/Paris")
		la := f.city(t, "Los Angeles", "US", "America/Los_Angeles")
		kesselhaus := f.location(t, f.org, berlin, "Kesselhaus")
		tempodrom := f.location(t, f.org, berlin, "Tempodrom")
		olympiahalle := f.location(t, f.org, munich, "Olympiahalle")
		bataclan := f.location(t, f.org, paris, "Bataclan")
		bowl := f.location(t, f.org, la, "Hollywood Bowl")

		const ym = 2031
		mk := func(title, category string, l *admit.Location, start time.Time, dur time.Duration, status admit.EventStatus, prices ...admit.Money) *admit.Event {
			return f.newEvent(t, f.org, eventSpec{title: title, category: category, loc: l, start: start, dur: dur, status: status, prices: prices})
		}
		// The clock reads 2031-03-03 09:00 UTC.
		art := mk("Art Exhibition", "Art", kesselhaus, localTime(t, "Europe/Berlin", ym, 3, 1, 10, 0), 7*24*time.Hour, "", eur(1200)) // started, not ended
		// 00:30 in Berlin is 23:30 UTC the day before: local date 03-13, UTC date 03-12.
		jazzNight := mk("Jazz Night", "Music", kesselhaus, localTime(t, "Europe/Berlin", ym, 3, 13, 0, 30), 0, "", eur(2500))
		techno := mk("Techno Marathon", "music", tempodrom, localTime(t, "Europe/Berlin", ym, 3, 14, 22, 0), 0, "", eur(0), eur(5000))
		okto := mk("Oktoberfest Warmup", "Festival", olympiahalle, localTime(t, "Europe/Berlin", ym, 3, 14, 12, 0), 0, "", eur(1500))
		brunch := mk("Jazz Brunch", "Food", bataclan, localTime(t, "Europe/Paris", ym, 3, 18, 11, 0), 0, "", eur(3000))
		// 20:00 in Los Angeles is 03:00 UTC the next day: local date 03-20, UTC date 03-21.
		late := mk("Late Show", "Comedy", bowl, localTime(t, "America/Los_Angeles", ym, 3, 20, 20, 0), 0, "", usd(4000))
		// Never listed publicly.
		draft := mk("Jazz Draft", "Music", kesselhaus, localTime(t, "Europe/Berlin", ym, 3, 15, 20, 0), 0, admit.EventDraft, eur(0))
		past := mk("Jazz Past", "Music", tempodrom, localTime(t, "Europe/Berlin", ym, 2, 20, 20, 0), 0, "", eur(0))
		cancelled := mk("Jazz Cancelled", "Music", tempodrom, localTime(t, "Europe/Berlin", ym, 3, 16, 20, 0), 0, admit.EventCancelled, eur(0))
		if s := late.StartsAt.UTC().Format(time.DateOnly); s != "2031-03-21" {
			t.Fatalf("Late Show starts on %s UTC, want 2031-03-21 (the test needs a UTC date unlike the local one)", s)
		}

		all := []string{"Art Exhibition", "Jazz Night", "Oktoberfest Warmup", "Techno Marathon", "Jazz Brunch", "Late Show"}
		price := func(v int64) *int64 { return &v }
		tests := []struct {
			name string
			f    admit.EventFilter
			want []string
		}{
			{"no filter", admit.EventFilter{}, all},
			{"city", admit.EventFilter{CityID: berlin.ID}, []string{"Art Exhibition", "Jazz Night", "Techno Marathon"}},
			{"location", admit.EventFilter{LocationID: tempodrom.ID}, []string{"Techno Marathon"}},
			{"location with several", admit.EventFilter{LocationID: kesselhaus.ID}, []string{"Art Exhibition", "Jazz Night"}},
			{"country", admit.EventFilter{Country: "DE"}, []string{"Art Exhibition", "Jazz Night", "Oktoberfest Warmup", "Techno Marathon"}},
			{"country lower case", admit.EventFilter{Country: "de"}, []string{"Art Exhibition", "Jazz Night", "Oktoberfest Warmup", "Techno Marathon"}},
			{"country US", admit.EventFilter{Country: "US"}, []string{"Late Show"}},
			{"category any case", admit.EventFilter{Category: "MUSIC"}, []string{"Jazz Night", "Techno Marathon"}},
			{"category padded", admit.EventFilter{Category: " music "}, []string{"Jazz Night", "Techno Marathon"}},
			{"category none", admit.EventFilter{Category: "Opera"}, []string{}},
			{"from: local date, not UTC", admit.EventFilter{FromDate: "2031-03-13"}, []string{"Jazz Night", "Oktoberfest Warmup", "Techno Marathon", "Jazz Brunch", "Late Show"}},
			{"to: local date, not UTC", admit.EventFilter{ToDate: "2031-03-12"}, []string{"Art Exhibition"}},
			{"one day west of UTC", admit.EventFilter{FromDate: "2031-03-20", ToDate: "2031-03-20"}, []string{"Late Show"}},
			{"the UTC date west of UTC", admit.EventFilter{FromDate: "2031-03-21"}, []string{}},
			{"one day", admit.EventFilter{FromDate: "2031-03-14", ToDate: "2031-03-14"}, []string{"Oktoberfest Warmup", "Techno Marathon"}},
			{"min price", admit.EventFilter{MinPrice: price(2000), Currency: "EUR"}, []string{"Jazz Night", "Techno Marathon", "Jazz Brunch"}},
			{"max price", admit.EventFilter{MaxPrice: price(1500), Currency: "EUR"}, []string{"Art Exhibition", "Oktoberfest Warmup", "Techno Marathon"}},
			{"price range", admit.EventFilter{MinPrice: price(1000), MaxPrice: price(2000), Currency: "EUR"}, []string{"Art Exhibition", "Oktoberfest Warmup"}},
			{"price range of one ticket type", admit.EventFilter{MinPrice: price(100), MaxPrice: price(1000), Currency: "EUR"}, []string{}},
			{"currency", admit.EventFilter{Currency: "USD"}, []string{"Late Show"}},
			{"min price in any currency", admit.EventFilter{MinPrice: price(3500)}, []string{"Techno Marathon", "Late Show"}},
			{"free", admit.EventFilter{Free: true}, []string{"Techno Marathon"}},
			{"free in a city without", admit.EventFilter{Free: true, CityID: munich.ID}, []string{}},
			{"q title word", admit.EventFilter{Query: "jazz"}, []string{"Jazz Night", "Jazz Brunch"}},
			{"q any case", admit.EventFilter{Query: "JAZZ"}, []string{"Jazz Night", "Jazz Brunch"}},
			{"q venue", admit.EventFilter{Query: "tempodrom"}, []string{"Techno Marathon"}},
			{"q city", admit.EventFilter{Query: "paris"}, []string{"Jazz Brunch"}},
			{"q category", admit.EventFilter{Query: "comedy"}, []string{"Late Show"}},
			{"q prefix", admit.EventFilter{Query: "okto"}, []string{"Oktoberfest Warmup"}},
			{"q all words", admit.EventFilter{Query: "jazz paris"}, []string{"Jazz Brunch"}},
			{"q all words, prefixes", admit.EventFilter{Query: "Hollyw sho"}, []string{"Late Show"}},
			{"q city with umlaut", admit.EventFilter{Query: "München"}, []string{"Oktoberfest Warmup"}},
			{"q query syntax is text", admit.EventFilter{Query: `"jazz" OR (x* & !`}, []string{}},
			{"q and city", admit.EventFilter{Query: "jazz", CityID: berlin.ID}, []string{"Jazz Night"}},
			{"everything", admit.EventFilter{CityID: berlin.ID, Country: "DE", Category: "music", FromDate: "2031-03-13", ToDate: "2031-03-31",
				MinPrice: price(1000), Currency: "EUR", Query: "night"}, []string{"Jazz Night"}},
		}
		if db.engine == sqliteEngine {
			tests = append(tests, struct {
				name string
				f    admit.EventFilter
				want []string
			}{"q without diacritics", admit.EventFilter{Query: "munchen"}, []string{"Oktoberfest Warmup"}})
		}
		for _, tc := range tests {
			events, next, err := db.ListEvents(anon, tc.f)
			if err != nil {
				t.Errorf("%s: ListEvents(%+v): %v", tc.name, tc.f, err)
				continue
			}
			if got := titles(events); !sameStrings(got, tc.want) {
				t.Errorf("%s: ListEvents(%+v)\n got %s\nwant %s", tc.name, tc.f, quoted(got), quoted(tc.want))
			}
			if next != "" {
				t.Errorf("%s: next cursor = %q, want none", tc.name, next)
			}
		}

		_, _, err := db.ListEvents(anon, admit.EventFilter{Query: "!!! ..."})
		wantCode(t, "ListEvents(q without words)", err, admit.EINVALID)

		// Popularity: most popular first, ties by id, descending.
		pop := map[string]int64{art.ID: 50, jazzNight.ID: 50, techno.ID: 80, okto.ID: 50, brunch.ID: 10, late.ID: 0,
			draft.ID: 1000, past.ID: 1000, cancelled.ID: 1000}
		for id, p := range pop {
			f.exec(t, `UPDATE events SET popularity = $2 WHERE id = $1`, id, p)
		}
		listed := []*admit.Event{art, jazzNight, techno, okto, brunch, late}
		slices.SortFunc(listed, func(a, b *admit.Event) int {
			return cmp.Or(cmp.Compare(pop[b.ID], pop[a.ID]), cmp.Compare(b.ID, a.ID))
		})
		var want []string
		for _, e := range listed {
			want = append(want, e.Title)
		}
		events, _, err := db.ListEvents(anon, admit.EventFilter{Sort: admit.SortPopularity})
		must(t, "ListEvents(sort=popularity)", err)
		if got := titles(events); !sameStrings(got, want) {
			t.Errorf("ListEvents(sort=popularity)\n got %s\nwant %s", quoted(got), quoted(want))
		}

		// The organization's own view: every status and time, for its managers only.
		own := admit.EventFilter{OrganizationID: f.orgID}
		events, _, err = db.ListEvents(f.org, own)
		must(t, "ListEvents(organization, as its organizer)", err)
		wantOwn := []string{"Jazz Past", "Art Exhibition", "Jazz Night", "Oktoberfest Warmup", "Techno Marathon", "Jazz Draft", "Jazz Cancelled", "Jazz Brunch", "Late Show"}
		if got := titles(events); !sameStrings(got, wantOwn) {
			t.Errorf("ListEvents(organization, as its organizer)\n got %s\nwant %s", quoted(got), quoted(wantOwn))
		}
		otherOrg, _ := f.user(t, "org-b@example.com", admit.RoleOrganizer, "Org B")
		for name, ctx := range map[string]context.Context{"anonymous": anon, "organizer of another organization": otherOrg} {
			events, _, err = db.ListEvents(ctx, own)
			must(t, "ListEvents(organization, "+name+")", err)
			if got := titles(events); !sameStrings(got, all) {
				t.Errorf("ListEvents(organization) as %s\n got %s\nwant %s (published upcoming only)", name, quoted(got), quoted(all))
			}
		}
	})
}

// walk pages through a list with limit 2, calling between after each page,
// and returns the ids of every row seen.
func walk[T any](t *testing.T, what, sort string, list func(admit.Page) ([]T, string, error), id func(T) string, between func(page int)) []string {
	t.Helper()
	var ids []string
	page := admit.Page{Limit: 2}
	for n := 1; ; n++ {
		if n > 50 {
			t.Fatalf("%s: more than 50 pages", what)
		}
		rows, next, err := list(page)
		if err != nil {
			t.Fatalf("%s page %d: %v", what, n, err)
		}
		if len(rows) > 2 || (next != "" && len(rows) != 2) {
			t.Fatalf("%s page %d: %d rows and next %q, want 2 rows on every page but the last", what, n, len(rows), next)
		}
		for _, r := range rows {
			ids = append(ids, id(r))
		}
		if next == "" {
			return ids
		}
		page.Cursor = cursorOf(t, next, sort)
		if between != nil {
			between(n)
		}
	}
}

func TestListEventsPaging(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		f := newFixture(t, e)
		db, anon := f.db, context.Background()
		c := f.city(t, "Hamburg", "DE", "Europe/Berlin")
		l := f.location(t, f.org, c, "Elbphilharmonie")
		day := func(d int) time.Time { return testNow.Add(time.Duration(d) * 24 * time.Hour) }
		// Three events share a start and three a popularity: ties are broken by id.
		starts := []time.Time{day(1), day(2), day(2), day(2), day(3), day(4), day(5)}
		pops := []int64{5, 9, 5, 5, 1, 7, 0}
		for i, s := range starts {
			e := f.newEvent(t, f.org, eventSpec{title: unique("Concert"), loc: l, start: s, prices: []admit.Money{eur(100)}})
			f.exec(t, `UPDATE events SET popularity = $2 WHERE id = $1`, e.ID, pops[i])
		}
		f.newEvent(t, f.org, eventSpec{title: "Draft", loc: l, start: day(2), status: admit.EventDraft})

		for _, sort := range []admit.EventSort{admit.SortStartsAt, admit.SortPopularity} {
			t.Run(string(sort), func(t *testing.T) {
				whole, next, err := db.ListEvents(anon, admit.EventFilter{Sort: sort, Page: admit.Page{Limit: 100}})
				must(t, "ListEvents", err)
				if len(whole) != len(starts) || next != "" {
					t.Fatalf("ListEvents(limit 100) = %d events, next %q; want %d, none", len(whole), next, len(starts))
				}
				wantIDs := eventIDs(whole)
				for i := 1; i < len(whole); i++ {
					a, b := whole[i-1], whole[i]
					ordered := a.StartsAt.Before(b.StartsAt) || a.StartsAt.Equal(b.StartsAt) && a.ID < b.ID
					if sort == admit.SortPopularity {
						pa, pb := popularity(t, db, a.ID), popularity(t, db, b.ID)
						ordered = pa > pb || pa == pb && a.ID > b.ID
					}
					if !ordered {
						t.Errorf("ListEvents(sort=%s): %s before %s is out of order", sort, a.ID, b.ID)
					}
				}
				list := func(p admit.Page) ([]admit.Event, string, error) {
					return db.ListEvents(anon, admit.EventFilter{Sort: sort, Page: p})
				}
				id := func(e admit.Event) string { return e.ID }
				if got := walk(t, "ListEvents", string(sort), list, id, nil); !sameStrings(got, wantIDs) {
					t.Errorf("pages of 2\n got %s\nwant %s", quoted(got), quoted(wantIDs))
				}

				// Rows inserted while paging: one sorting before the cursor
				// (never seen), one after it (seen once); the rest exactly once.
				var early, lateID string
				got := walk(t, "ListEvents", string(sort), list, id, func(page int) {
					if page != 2 {
						return
					}
					before := f.newEvent(t, f.org, eventSpec{title: unique("Early"), loc: l, start: day(1).Add(-time.Hour), prices: []admit.Money{eur(1)}})
					after := f.newEvent(t, f.org, eventSpec{title: unique("Late"), loc: l, start: day(6), prices: []admit.Money{eur(1)}})
					f.exec(t, `UPDATE events SET popularity = $2 WHERE id = $1`, before.ID, 100)
					f.exec(t, `UPDATE events SET popularity = $2 WHERE id = $1`, after.ID, -1)
					early, lateID = before.ID, after.ID
				})
				want := append(slices.Clone(wantIDs), lateID)
				if !sameStrings(got, want) {
					t.Errorf("pages of 2 with inserts (early %s, late %s)\n got %s\nwant %s", early, lateID, quoted(got), quoted(want))
				}
				// Leave the list as it was for the next ordering.
				must(t, "DeleteEvent", db.DeleteEvent(f.org, early))
				must(t, "DeleteEvent", db.DeleteEvent(f.org, lateID))
			})
		}

		// A cursor that is not a number is refused, not a query error.
		_, _, err := db.ListEvents(anon, admit.EventFilter{Page: admit.Page{Limit: 2, Cursor: &admit.Cursor{Sort: "starts_at", Value: "x", ID: "evt_a"}}})
		wantCode(t, "ListEvents(bad cursor)", err, admit.EINVALID)
		events, _, err := db.ListEvents(anon, admit.EventFilter{Page: admit.Page{Limit: 1000}})
		must(t, "ListEvents(limit 1000)", err)
		if len(events) != len(starts) {
			t.Errorf("ListEvents(limit 1000) = %d events, want %d", len(events), len(starts))
		}
	})
}

func popularity(t *testing.T, db *DB, id string) int64 {
	t.Helper()
	var p int64
	must(t, "read popularity", db.primary.QueryRow(`SELECT popularity FROM events WHERE id = $1`, id).Scan(&p))
	return p
}

func TestListCities(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		f := newFixture(t, e)
		db, anon := f.db, context.Background()
		soon := testNow.Add(7 * 24 * time.Hour)
		withEvents := func(c *admit.City, statuses ...admit.EventStatus) {
			l := f.location(t, f.org, c, unique("Hall"))
			for _, s := range statuses {
				f.newEvent(t, f.org, eventSpec{title: unique("Show"), loc: l, start: soon, status: s, prices: []admit.Money{eur(100)}})
			}
		}
		pastEvent := func(c *admit.City) {
			l := f.location(t, f.org, c, unique("Hall"))
			f.newEvent(t, f.org, eventSpec{title: unique("Old show"), loc: l, start: testNow.Add(-48 * time.Hour), prices: []admit.Money{eur(100)}})
		}
		berlin := f.city(t, "Berlin", "DE", "Europe/Berlin")
		withEvents(berlin, admit.EventPublished, admit.EventPublished, admit.EventDraft, admit.EventCancelled)
		pastEvent(berlin)
		parisFR := f.city(t, "Paris", "FR", "Europe/Paris")
		withEvents(parisFR, admit.EventPublished)
		parisUS := f.city(t, "Paris", "US", "America/Chicago")
		withEvents(parisUS, admit.EventPublished)
		wien := f.city(t, "Wien", "AT", "Europe/Vienna")
		withEvents(wien, admit.EventPublished, admit.EventPublished, admit.EventPublished)
		withEvents(f.city(t, "Hamburg", "DE", "Europe/Berlin"), admit.EventDraft)
		pastEvent(f.city(t, "Aachen", "DE", "Europe/Berlin"))
		f.city(t, "Köln", "DE", "Europe/Berlin")

		paris := []*admit.City{parisFR, parisUS}
		slices.SortFunc(paris, func(a, b *admit.City) int { return cmp.Compare(a.ID, b.ID) })
		type row struct {
			id    string
			count int64
		}
		wantAll := []row{{berlin.ID, 2}, {paris[0].ID, 1}, {paris[1].ID, 1}, {wien.ID, 3}}
		check := func(what string, got []admit.City, want []row) {
			t.Helper()
			ok := len(got) == len(want)
			for i := 0; ok && i < len(got); i++ {
				ok = got[i].ID == want[i].id && got[i].EventCount == want[i].count
			}
			if !ok {
				var g []row
				for _, c := range got {
					g = append(g, row{c.ID, c.EventCount})
				}
				t.Errorf("%s\n got %v\nwant %v", what, g, want)
			}
		}
		cities, next, err := db.ListCities(anon, admit.CityFilter{})
		must(t, "ListCities", err)
		check("ListCities (published upcoming events by city, by name)", cities, wantAll)
		if next != "" {
			t.Errorf("ListCities: next = %q, want none", next)
		}
		if len(cities) > 0 && (cities[0].Name != "Berlin" || cities[0].Country != "DE" || cities[0].TimeZone != "Europe/Berlin") {
			t.Errorf("ListCities: first city = %+v, want Berlin DE Europe/Berlin", cities[0])
		}
		for _, country := range []string{"DE", "de"} {
			cities, _, err = db.ListCities(anon, admit.CityFilter{Country: country})
			must(t, "ListCities(country)", err)
			check("ListCities(country="+country+")", cities, []row{{berlin.ID, 2}})
		}
		cities, _, err = db.ListCities(anon, admit.CityFilter{Country: "US"})
		must(t, "ListCities(country=US)", err)
		check("ListCities(country=US)", cities, []row{{parisUS.ID, 1}})

		// Pages of 2, then with a city sorting before the cursor and one after
		// it gaining events while paging.
		list := func(p admit.Page) ([]admit.City, string, error) {
			return db.ListCities(anon, admit.CityFilter{Page: p})
		}
		id := func(c admit.City) string { return c.ID }
		wantIDs := []string{berlin.ID, paris[0].ID, paris[1].ID, wien.ID}
		if got := walk(t, "ListCities", "name", list, id, nil); !sameStrings(got, wantIDs) {
			t.Errorf("ListCities pages of 2\n got %s\nwant %s", quoted(got), quoted(wantIDs))
		}
		var zwickau *admit.City
		got := walk(t, "ListCities", "name", list, id, func(page int) {
			if page == 1 {
				withEvents(f.city(t, "Aalen", "DE", "Europe/Berlin"), admit.EventPublished)
				zwickau = f.city(t, "Zwickau", "DE", "Europe/Berlin")
				withEvents(zwickau, admit.EventPublished)
			}
		})
		if want := append(slices.Clone(wantIDs), zwickau.ID); !sameStrings(got, want) {
			t.Errorf("ListCities pages of 2 with inserts\n got %s\nwant %s", quoted(got), quoted(want))
		}
	})
}

func TestListLocations(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		f := newFixture(t, e)
		db, anon := f.db, context.Background()
		orgB, _ := f.user(t, "org-b@example.com", admit.RoleOrganizer, "Org B")
		berlin := f.city(t, "Berlin", "DE", "Europe/Berlin")
		munich := f.city(t, "Munich", "DE", "Europe/Berlin")
		byName := map[string]*admit.Location{}
		for _, n := range []string{"Tempodrom", "Astra", "Uber Arena", "Columbiahalle", "Berghain"} {
			byName[n] = f.location(t, f.org, berlin, n)
		}
		byName["Lido"] = f.location(t, orgB, berlin, "Lido")
		byName["Olympiastadion"] = f.location(t, f.admin, berlin, "Olympiastadion")
		zenith := f.location(t, f.org, munich, "Zenith")
		names := []string{"Astra", "Berghain", "Columbiahalle", "Lido", "Olympiastadion", "Tempodrom", "Uber Arena"}
		var wantIDs []string
		for _, n := range names {
			wantIDs = append(wantIDs, byName[n].ID)
		}

		locs, next, err := db.ListLocations(anon, admit.LocationFilter{CityID: berlin.ID})
		must(t, "ListLocations(city)", err)
		var got []string
		for _, l := range locs {
			got = append(got, l.Name)
		}
		if !sameStrings(got, names) || next != "" {
			t.Errorf("ListLocations(city)\n got %s next %q\nwant %s", quoted(got), next, quoted(names))
		}
		if l := locs[slices.Index(got, "Lido")]; l.OrganizationID == "" || l.CityID != berlin.ID || l.Address != "Lido street 1" || l.Capacity != 500 {
			t.Errorf("ListLocations(city): Lido = %+v, want its organization, city, address and capacity", l)
		}

		start := testNow.Add(24 * time.Hour)
		published := f.newEvent(t, f.org, eventSpec{title: "Show", loc: byName["Tempodrom"], start: start, prices: []admit.Money{eur(1)}})
		cancelled := f.newEvent(t, f.org, eventSpec{title: "Called off", loc: byName["Astra"], start: start, prices: []admit.Money{eur(1)}, status: admit.EventCancelled})
		draft := f.newEvent(t, f.org, eventSpec{title: "Secret", loc: byName["Berghain"], start: start, status: admit.EventDraft})
		for _, tc := range []struct {
			name string
			f    admit.LocationFilter
			want []string
		}{
			{"published event", admit.LocationFilter{EventID: published.ID}, []string{byName["Tempodrom"].ID}},
			{"cancelled event", admit.LocationFilter{EventID: cancelled.ID}, []string{byName["Astra"].ID}},
			{"draft event", admit.LocationFilter{EventID: draft.ID}, []string{}},
			{"missing event", admit.LocationFilter{EventID: "evt_missing"}, []string{}},
			{"event in another city", admit.LocationFilter{EventID: published.ID, CityID: munich.ID}, []string{}},
			{"event and its city", admit.LocationFilter{EventID: published.ID, CityID: berlin.ID}, []string{byName["Tempodrom"].ID}},
			{"other city", admit.LocationFilter{CityID: munich.ID}, []string{zenith.ID}},
			{"no filter", admit.LocationFilter{Page: admit.Page{Limit: 100}}, append(slices.Clone(wantIDs[:6]), wantIDs[6], zenith.ID)},
		} {
			locs, _, err := db.ListLocations(anon, tc.f)
			if err != nil {
				t.Errorf("%s: ListLocations: %v", tc.name, err)
				continue
			}
			got := []string{}
			for _, l := range locs {
				got = append(got, l.ID)
			}
			if !sameStrings(got, tc.want) {
				t.Errorf("%s: ListLocations(%+v)\n got %s\nwant %s", tc.name, tc.f, quoted(got), quoted(tc.want))
			}
		}

		list := func(p admit.Page) ([]admit.Location, string, error) {
			return db.ListLocations(anon, admit.LocationFilter{CityID: berlin.ID, Page: p})
		}
		id := func(l admit.Location) string { return l.ID }
		if got := walk(t, "ListLocations", "name", list, id, nil); !sameStrings(got, wantIDs) {
			t.Errorf("ListLocations pages of 2\n got %s\nwant %s", quoted(got), quoted(wantIDs))
		}
		var last *admit.Location
		got = walk(t, "ListLocations", "name", list, id, func(page int) {
			if page == 2 {
				f.location(t, f.org, berlin, "Aaa Hall")
				last = f.location(t, f.org, berlin, "Zz Club")
			}
		})
		if want := append(slices.Clone(wantIDs), last.ID); !sameStrings(got, want) {
			t.Errorf("ListLocations pages of 2 with inserts\n got %s\nwant %s", quoted(got), quoted(want))
		}
	})
}
