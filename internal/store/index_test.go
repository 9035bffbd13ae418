package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

// TestListQueriesUseIndexes loads a catalogue with history (3000 events,
// most of them past, drafts or cancelled) and asks each engine's planner
// how it runs the exact SQL the list methods build for each filter: no plan
// may read all of events, nor (where they have an index to use) all of
// ticket_types or locations.
func TestListQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		f := newFixture(t, e)
		db := f.db
		cat := loadCatalogue(t, f, 3000)

		price := func(v int64) *int64 { return &v }
		anon := context.Background()
		// Cursors to ask for second pages with.
		secondPage := func(sort admit.EventSort) *admit.Cursor {
			_, next, err := db.ListEvents(anon, admit.EventFilter{Sort: sort})
			must(t, "ListEvents", err)
			if next == "" {
				t.Fatalf("ListEvents(sort=%s) has a single page; the catalogue is too small", sort)
			}
			return cursorOf(t, next, string(sort))
		}
		startsCursor, popCursor := secondPage(admit.SortStartsAt), secondPage(admit.SortPopularity)
		cities, next, err := db.ListCities(anon, admit.CityFilter{Page: admit.Page{Limit: 2}})
		must(t, "ListCities", err)
		if len(cities) != 2 || next == "" {
			t.Fatalf("ListCities(limit 2) = %d cities, next %q; want a full page and more", len(cities), next)
		}
		cityCursor := cursorOf(t, next, "name")

		// Each list call hands its SQL to traceQuery: collect them.
		var queries []tracedQuery
		var current string
		db.traceQuery = func(sql string, args []any) {
			queries = append(queries, tracedQuery{current, sql, append([]any(nil), args...)})
		}

		eventFilters := []struct {
			name string
			ctx  context.Context
			f    admit.EventFilter
		}{
			{"default", anon, admit.EventFilter{}},
			{"popularity", anon, admit.EventFilter{Sort: admit.SortPopularity}},
			{"second page", anon, admit.EventFilter{Page: admit.Page{Cursor: startsCursor}}},
			{"second page by popularity", anon, admit.EventFilter{Sort: admit.SortPopularity, Page: admit.Page{Cursor: popCursor}}},
			{"city", anon, admit.EventFilter{CityID: cat.cities[0]}},
			{"city by popularity", anon, admit.EventFilter{CityID: cat.cities[0], Sort: admit.SortPopularity}},
			{"city second page", anon, admit.EventFilter{CityID: cat.cities[0], Page: admit.Page{Cursor: startsCursor}}},
			{"location", anon, admit.EventFilter{LocationID: cat.locations[0]}},
			{"country", anon, admit.EventFilter{Country: "FR"}},
			{"category", anon, admit.EventFilter{Category: "Jazz"}},
			{"from date", anon, admit.EventFilter{FromDate: testNow.AddDate(0, 1, 0).Format(time.DateOnly)}},
			{"to date", anon, admit.EventFilter{ToDate: testNow.AddDate(0, 0, 7).Format(time.DateOnly)}},
			{"date range in a city", anon, admit.EventFilter{CityID: cat.cities[1], FromDate: testNow.Format(time.DateOnly), ToDate: testNow.AddDate(0, 1, 0).Format(time.DateOnly)}},
			{"price", anon, admit.EventFilter{MinPrice: price(1000), MaxPrice: price(3000), Currency: "EUR"}},
			{"free", anon, admit.EventFilter{Free: true}},
			{"free by popularity", anon, admit.EventFilter{Free: true, Sort: admit.SortPopularity}},
			{"currency in a city", anon, admit.EventFilter{Currency: "USD", CityID: cat.cities[2]}},
			{"q", anon, admit.EventFilter{Query: "jazz"}},
			{"q prefix", anon, admit.EventFilter{Query: "techn"}},
			{"q two words by popularity", anon, admit.EventFilter{Query: "opera night", Sort: admit.SortPopularity}},
			{"q in a city", anon, admit.EventFilter{Query: "rock", CityID: cat.cities[0]}},
			{"everything", anon, admit.EventFilter{CityID: cat.cities[0], Country: "DE", Category: "rock", FromDate: testNow.Format(time.DateOnly),
				ToDate: testNow.AddDate(1, 0, 0).Format(time.DateOnly), MinPrice: price(0), Currency: "EUR", Query: "rock"}},
			{"organization as its organizer", f.org, admit.EventFilter{OrganizationID: f.orgID}},
			{"organization as its organizer, by popularity", f.org, admit.EventFilter{OrganizationID: f.orgID, Sort: admit.SortPopularity}},
			{"organization as its organizer, second page", f.org, admit.EventFilter{OrganizationID: f.orgID, Page: admit.Page{Cursor: startsCursor}}},
			{"organization, anonymously", anon, admit.EventFilter{OrganizationID: f.orgID}},
		}
		for _, ef := range eventFilters {
			current = "ListEvents " + ef.name
			if _, _, err := db.ListEvents(ef.ctx, ef.f); err != nil {
				t.Fatalf("%s: %v", current, err)
			}
		}
		for name, cf := range map[string]admit.CityFilter{
			"default":     {},
			"country":     {Country: "DE"},
			"second page": {Page: admit.Page{Limit: 2, Cursor: cityCursor}},
		} {
			current = "ListCities " + name
			_, _, err := db.ListCities(anon, cf)
			must(t, current, err)
		}
		for name, lf := range map[string]admit.LocationFilter{
			"city":             {CityID: cat.cities[0]},
			"city second page": {CityID: cat.cities[0], Page: admit.Page{Limit: 1, Cursor: &admit.Cursor{Sort: "name", Value: "A", ID: "loc_a"}}},
			"event":            {EventID: cat.events[len(cat.events)-1]},
			"event and city":   {EventID: cat.events[len(cat.events)-1], CityID: cat.cities[0]},
		} {
			current = "ListLocations " + name
			_, _, err := db.ListLocations(anon, lf)
			must(t, current, err)
		}
		db.traceQuery = nil
		if want := len(eventFilters) + 3 + 4; len(queries) != want {
			t.Fatalf("traced %d list queries, want %d", len(queries), want)
		}

		ctx := context.Background()
		switch db.engine {
		case sqliteEngine:
			// Nothing runs ANALYZE on an embedded database: the plans must
			// hold without statistics, and with them.
			for _, stats := range []string{"without statistics", "after ANALYZE"} {
				if stats == "after ANALYZE" {
					f.exec(t, `ANALYZE`)
				}
				for _, q := range queries {
					plan := sqlitePlan(t, db.primary, q.sql, q.args)
					if bad := sqliteFullScans(plan); len(bad) > 0 {
						t.Errorf("%s (%s) scans %s:\n%s\nplan:\n%s", q.name, stats, strings.Join(bad, ", "), q.sql, strings.Join(plan, "\n"))
					}
				}
			}
		case postgresEngine:
			f.exec(t, `ANALYZE`)
			conn, err := db.primary.Conn(ctx)
			must(t, "dedicated connection", err)
			defer conn.Close()
			// The planner's own choice on this data, then with sequential scans
			// priced out: a query with no usable index still shows one then.
			for _, seqscan := range []string{"on", "off"} {
				if _, err := conn.ExecContext(ctx, `SET enable_seqscan = `+seqscan); err != nil {
					t.Fatalf("SET enable_seqscan: %v", err)
				}
				for _, q := range queries {
					tables := []string{"events"}
					if seqscan == "off" {
						tables = append(tables, "ticket_types", "locations")
					}
					if bad := postgresFullScans(t, conn, q.sql, q.args, tables); len(bad) > 0 {
						t.Errorf("%s (enable_seqscan=%s) has %s:\n%s\nplan:\n%s", q.name, seqscan, strings.Join(bad, ", "), q.sql,
							postgresPlanText(t, conn, q.sql, q.args))
					}
				}
			}
			if _, err := conn.ExecContext(ctx, `RESET enable_seqscan`); err != nil {
				t.Fatalf("RESET enable_seqscan: %v", err)
			}
		}
	})
}

// catalogue is what loadCatalogue inserted.
type catalogue struct {
	cities, locations, events []string
}

// loadCatalogue inserts n events across twelve cities and fifty organizations
// (Org A among them), with their ticket types and search documents, in one
// transaction with multi-row inserts (the service would take minutes). It
// looks like a catalogue in production: eight years of history and half a
// year ahead, so that upcoming events are a few percent of the table and an
// organization owns a fiftieth of it. On such data PostgreSQL's own plans are
// meaningful; on a small young table a sequential scan is rightly cheaper.
func loadCatalogue(t *testing.T, f *fixture, n int) catalogue {
	t.Helper()
	ctx := context.Background()
	type place struct{ name, country, zone string }
	places := []place{
		{"Berlin", "DE", "Europe/Berlin"}, {"Hamburg", "DE", "Europe/Berlin"}, {"New York", "US", "America/New_York"},
		{"Paris", "FR", "Europe/Paris"}, {"Lyon", "FR", "Europe/Paris"}, {"Wien", "AT", "Europe/Vienna"},
		{"Zürich", "CH", "Europe/Zurich"}, {"Auckland", "NZ", "Pacific/Auckland"}, {"Tokyo", "JP", "Asia/Tokyo"},
		{"Chicago", "US", "America/Chicago"}, {"Madrid", "ES", "Europe/Madrid"}, {"Roma", "IT", "Europe/Rome"},
	}
	var cat catalogue
	var cities []*admit.City
	for _, p := range places {
		c := f.city(t, p.name, p.country, p.zone)
		cities = append(cities, c)
		cat.cities = append(cat.cities, c.ID)
		for i := range 3 {
			// Shared venues, so that every organization may use them.
			cat.locations = append(cat.locations, f.location(t, f.admin, c, fmt.Sprintf("%s Hall %d", p.name, i+1)).ID)
		}
	}
	categories := []string{"Jazz", "Rock", "Opera", "Comedy", "Techno", "Food", "Art", "Film"}
	words := []string{"night", "matinee", "festival", "special", "live", "session"}

	tx, err := f.db.primary.BeginTx(ctx, nil)
	must(t, "begin", err)
	defer tx.Rollback()
	// insert writes rows with multi-row INSERTs, each statement prepared once.
	// SQLite gets one row per statement: its driver binds the parameters of
	// a wide statement slowly, while a prepared one-row insert is cheap.
	insert := func(table, columns string, rows [][]any) {
		t.Helper()
		perStmt := 400
		if f.db.engine == sqliteEngine {
			perStmt = 1
		}
		stmts := map[int]*sql.Stmt{}
		for len(rows) > 0 {
			k := min(perStmt, len(rows))
			st := stmts[k]
			if st == nil {
				var b strings.Builder
				fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", table, columns)
				for i := range k {
					if i > 0 {
						b.WriteString(", ")
					}
					b.WriteString("(")
					for j := range rows[0] {
						if j > 0 {
							b.WriteString(", ")
						}
						fmt.Fprintf(&b, "$%d", i*len(rows[0])+j+1)
					}
					b.WriteString(")")
				}
				if st, err = tx.PrepareContext(ctx, b.String()); err != nil {
					t.Fatalf("prepare insert into %s: %v", table, err)
				}
				defer st.Close()
				stmts[k] = st
			}
			var args []any
			for _, r := range rows[:k] {
				args = append(args, r...)
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				t.Fatalf("insert into %s: %v", table, err)
			}
			rows = rows[k:]
		}
	}
	orgs, orgRows := []string{f.orgID}, [][]any{}
	for i := range 49 {
		id := newID("org")
		orgs, orgRows = append(orgs, id), append(orgRows, []any{id, fmt.Sprintf("Bulk Org %d", i), ts(testNow)})
	}
	insert("organizations", "id, name, created_at", orgRows)
	var events, types [][]any
	const year = 365 * 24 * time.Hour
	span := 8*year + year/2
	first := testNow.Add(-8 * year)
	for i := range n {
		c := cities[i%len(cities)]
		loc, _ := time.LoadLocation(c.TimeZone)
		start := first.Add(time.Duration(i) * (span / time.Duration(n))).In(loc)
		status := admit.EventPublished
		switch i % 11 {
		case 0:
			status = admit.EventDraft
		case 1:
			status = admit.EventCancelled
		}
		category := categories[i%len(categories)]
		id := newID("evt")
		cat.events = append(cat.events, id)
		events = append(events, []any{id, orgs[i%len(orgs)], fmt.Sprintf("%s %s %d", category, words[i%len(words)], i), "An evening of " + strings.ToLower(category),
			category, categoryKey(category), `["bulk"]`, c.ID, c.Country, cat.locations[(i%len(cities))*3+i%3],
			ts(start), ts(start.Add(3 * time.Hour)), start.Format(time.DateOnly), c.TimeZone, string(status), "",
			int64(i * 7919 % 1000), ts(testNow), ts(testNow)})
		currency := "EUR"
		if c.Country == "US" {
			currency = "USD"
		}
		for k := range 1 + i%3 {
			amount := int64((i*31+k*500)%6000) * 10
			if i%7 == 0 && k == 0 {
				amount = 0
			}
			types = append(types, []any{newID("tkt"), id, fmt.Sprintf("Tier %d", k), "general", amount, currency, int64(100),
				ts(start.Add(-30 * 24 * time.Hour)), ts(start), int64(1), int64(10), ts(testNow)})
		}
	}
	insert("events", "id, organization_id, title, description, category, category_key, tags, city_id, country, location_id, "+
		"starts_at, ends_at, start_date, time_zone, status, stream_url, popularity, created_at, updated_at", events)
	insert("ticket_types", "id, event_id, name, kind, price_amount, currency, quantity, sale_starts_at, sale_ends_at, "+
		"min_per_order, max_per_order, created_at", types)
	doc := `e.title || ' ' || e.description || ' ' || e.category || ' ' || l.name || ' ' || c.name`
	from := `events e JOIN locations l ON l.id = e.location_id JOIN cities c ON c.id = e.city_id`
	var index string
	if f.db.engine == postgresEngine {
		index = `UPDATE events SET search_doc = to_tsvector('simple', d.doc) FROM (SELECT e.id, ` + doc + ` AS doc FROM ` + from + `) d WHERE d.id = events.id`
	} else {
		index = `INSERT INTO event_search (rowid, body) SELECT e.seq, ` + doc + ` FROM ` + from
	}
	if _, err := tx.ExecContext(ctx, index); err != nil {
		t.Fatalf("index the catalogue: %v", err)
	}
	must(t, "commit", tx.Commit())

	// The catalogue answers like one made through the service.
	found, _, err := f.db.ListEvents(context.Background(), admit.EventFilter{Query: "jazz", CityID: cat.cities[0], Page: admit.Page{Limit: 100}})
	must(t, "ListEvents(q=jazz, city)", err)
	if len(found) == 0 {
		t.Fatalf("ListEvents(q=jazz, city) over the catalogue found nothing")
	}
	for _, e := range found {
		if e.Category != "Jazz" || e.CityID != cat.cities[0] || e.Status != admit.EventPublished || !e.EndsAt.After(testNow) {
			t.Fatalf("ListEvents(q=jazz, city) returned %+v", e)
		}
	}
	return cat
}

var sqliteFullScan = regexp.MustCompile(`^SCAN (e|t|l|events|ticket_types|locations)\b`)

// sqlitePlan returns the detail lines of SQLite's query plan.
func sqlitePlan(t *testing.T, db *sql.DB, query string, args []any) []string {
	t.Helper()
	rows, err := db.Query(`EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN: %v\n%s", err, query)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		must(t, "scan plan", rows.Scan(&id, &parent, &unused, &detail))
		plan = append(plan, detail)
	}
	must(t, "read plan", rows.Err())
	return plan
}

// sqliteFullScans returns the plan lines that read all of events,
// ticket_types or locations: SCAN (of the table or of a whole index) rather
// than SEARCH.
func sqliteFullScans(plan []string) []string {
	var bad []string
	for _, line := range plan {
		if sqliteFullScan.MatchString(line) {
			bad = append(bad, fmt.Sprintf("%q", line))
		}
	}
	return bad
}

// postgresFullScans returns the plan nodes that read all of one of tables:
// a sequential scan, or an index scan whose condition does not restrict
// the index's leading column (PostgreSQL may also walk a whole index and
// test a later column on every entry).
func postgresFullScans(t *testing.T, conn *sql.Conn, query string, args []any, tables []string) []string {
	t.Helper()
	ctx := context.Background()
	// The table and the leading column of each index.
	type index struct{ table, column string }
	indexes := map[string]index{}
	rows, err := conn.QueryContext(ctx, `SELECT ic.relname, tc.relname, a.attname FROM pg_index i
		JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class tc ON tc.oid = i.indrelid
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE tc.relname IN ('events', 'ticket_types', 'locations', 'cities')`)
	must(t, "list indexes", err)
	for rows.Next() {
		var name string
		var ix index
		must(t, "scan index", rows.Scan(&name, &ix.table, &ix.column))
		indexes[name] = ix
	}
	must(t, "list indexes", rows.Err())
	rows.Close()

	var bad []string
	var visit func(n planNode)
	visit = func(n planNode) {
		table := n.Relation
		if n.Index != "" {
			table = indexes[n.Index].table
		}
		if slices.Contains(tables, table) {
			lead := indexes[n.Index].column
			switch {
			case n.NodeType == "Seq Scan":
				bad = append(bad, "Seq Scan on "+table)
			case n.Index != "" && !strings.Contains(n.IndexCond, "("+lead+" ") && !strings.Contains(n.IndexCond, "(ROW("+lead+","):
				bad = append(bad, fmt.Sprintf("a %s of all of %s (condition %q)", n.NodeType, n.Index, n.IndexCond))
			}
		}
		for _, c := range n.Plans {
			visit(c)
		}
	}
	visit(postgresPlan(t, conn, query, args))
	return bad
}

// tracedQuery is a list query as traceQuery saw it, named after the call.
type tracedQuery struct {
	name, sql string
	args      []any
}

// planNode is a node of a PostgreSQL plan, as EXPLAIN (FORMAT JSON) gives it.
type planNode struct {
	NodeType  string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	Index     string     `json:"Index Name"`
	IndexCond string     `json:"Index Cond"`
	Plans     []planNode `json:"Plans"`
}

// postgresPlan returns the plan of query on PostgreSQL.
func postgresPlan(t *testing.T, q queryer, query string, args []any) planNode {
	t.Helper()
	var raw string
	if err := q.QueryRowContext(context.Background(), `EXPLAIN (FORMAT JSON) `+query, args...).Scan(&raw); err != nil {
		t.Fatalf("EXPLAIN: %v\n%s", err, query)
	}
	var doc []struct{ Plan planNode }
	if err := json.Unmarshal([]byte(raw), &doc); err != nil || len(doc) != 1 {
		t.Fatalf("EXPLAIN (FORMAT JSON): %v\n%s", err, raw)
	}
	return doc[0].Plan
}

// postgresPlanText returns the plan as EXPLAIN prints it, for messages.
func postgresPlanText(t *testing.T, q queryer, query string, args []any) string {
	t.Helper()
	rows, err := q.QueryContext(context.Background(), `EXPLAIN `+query, args...)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		if rows.Scan(&line) == nil {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}
