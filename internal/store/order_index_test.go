package store

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

// TestOrderListsWalkTheirIndexes: an event's order and refund lists, and a
// buyer's orders, read a page from an index on the event or the buyer,
// never the orders or refunds of others, on 20,000 orders of 20 events. On
// SQLite, with or without statistics, they walk the index in the list's
// order, without sorting; PostgreSQL, after ANALYZE, may sort what the
// index found. (About a second per engine.)
func TestOrderListsWalkTheirIndexes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderManual)
		buyer, err := admit.RequireUser(s.attendees[0])
		must(t, "buyer", err)
		loadOrders(t, s, buyer.ID, 1000)

		var queries []tracedQuery
		current := ""
		s.db.traceQuery = func(sql string, args []any) { queries = append(queries, tracedQuery{current, sql, args}) }
		page2 := admit.Page{Cursor: &admit.Cursor{Sort: admit.OrderSort, Value: fmt.Sprint(ts(testNow) - 10_000), ID: "ord_x"}}
		for _, status := range []admit.OrderStatus{"", admit.OrderPending, admit.OrderExpired, admit.OrderPaid, admit.OrderFailed} {
			current = fmt.Sprintf("ListEventOrders %q", status)
			_, _, err := s.db.ListEventOrders(s.org, s.event.ID, status, admit.Page{})
			must(t, current, err)
			current += " second page"
			_, _, err = s.db.ListEventOrders(s.org, s.event.ID, status, page2)
			must(t, current, err)
		}
		for _, status := range []admit.RefundStatus{"", admit.RefundPending} {
			current = fmt.Sprintf("ListRefunds %q", status)
			_, _, err := s.db.ListRefunds(s.org, s.event.ID, status, admit.Page{})
			must(t, current, err)
		}
		current = "ListMyOrders"
		_, _, err = s.db.ListMyOrders(s.attendees[0], admit.Page{})
		must(t, current, err)
		s.db.traceQuery = nil
		if len(queries) != 13 {
			t.Fatalf("traced %d list queries, want 13", len(queries))
		}

		switch s.db.engine {
		case sqliteEngine:
			for _, stats := range []string{"without statistics", "after ANALYZE"} {
				if stats == "after ANALYZE" {
					s.exec(t, `ANALYZE`)
				}
				for _, q := range queries {
					plan := sqlitePlan(t, s.db.primary, q.sql, q.args)
					for _, line := range plan {
						if strings.HasPrefix(line, "SCAN o") || strings.HasPrefix(line, "SCAN r") || strings.Contains(line, "TEMP B-TREE") {
							t.Errorf("%s (%s): %q\nplan:\n%s", q.name, stats, line, strings.Join(plan, "\n"))
						}
					}
				}
			}
		case postgresEngine:
			s.exec(t, `ANALYZE`)
			for _, q := range queries {
				if bad := postgresScans(t, s.db, q); len(bad) > 0 {
					t.Errorf("%s: %s\n%s\n%s", q.name, strings.Join(bad, ", "), q.sql, postgresPlanText(t, s.db.primary, q.sql, q.args))
				}
			}
		}
	})
}

// loadOrders inserts perEvent orders for each of the onsale's event and 19
// siblings, in every status, one in a thousand the buyer's, with a refund
// for each cancelled one.
func loadOrders(t *testing.T, s *onsale, buyerID string, perEvent int) {
	t.Helper()
	events := []string{s.event.ID}
	for range 19 {
		events = append(events, s.sibling(t, admit.ProviderManual).event.ID)
	}
	for i, eventID := range events {
		s.exec(t, `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $1)
			INSERT INTO orders (id, user_id, event_id, status, expires_at, total_amount, currency, provider, created_at, updated_at)
			SELECT 'ord_' || $2 || '_' || n, CASE WHEN n % 1000 = 0 THEN $3 ELSE 'usr_' || (n % 997) END, $2,
				CASE n % 5 WHEN 0 THEN 'paid' WHEN 1 THEN 'pending' WHEN 2 THEN 'expired' WHEN 3 THEN 'cancelled' ELSE 'failed' END,
				CAST($4 AS BIGINT) + n, 1000, 'EUR', 'manual', CAST($5 AS BIGINT) - n * 20 - $6, CAST($5 AS BIGINT) - n FROM g`,
			perEvent, eventID, buyerID, ts(testNow), ts(testNow), i)
	}
	s.exec(t, `INSERT INTO refunds (id, order_id, event_id, amount, currency, status, created_at)
		SELECT 'ref_' || id, id, event_id, 1000, 'EUR', CASE WHEN created_at % 2 = 0 THEN 'pending' ELSE 'succeeded' END, created_at
		FROM orders WHERE status = 'cancelled'`)
}

// postgresScans returns what in q's plan reads orders or refunds other
// than by an index on the event or buyer. (PostgreSQL may rightly sort
// what such an index found, when its statistics say it is little.)
func postgresScans(t *testing.T, db *DB, q tracedQuery) []string {
	t.Helper()
	narrowed := func(n planNode) bool {
		return strings.Contains(n.IndexCond, "event_id") || strings.Contains(n.IndexCond, "user_id") || strings.HasSuffix(n.Index, "_pkey") ||
			// the lapsed holds not yet recorded expired, of any event: the
			// sweeper records them within seconds, so they are few
			n.Index == "orders_pending" && strings.Contains(n.IndexCond, "(expires_at <=")
	}
	var bad []string
	var visit func(n planNode)
	visit = func(n planNode) {
		listed := n.Relation == "orders" || n.Relation == "refunds" || strings.HasPrefix(n.Index, "orders_") || strings.HasPrefix(n.Index, "refunds_")
		switch {
		case listed && n.NodeType == "Seq Scan":
			bad = append(bad, "Seq Scan on "+n.Relation)
		case n.NodeType == "BitmapAnd" && slices.ContainsFunc(n.Plans, narrowed):
			return // the other indexes only narrow what the event's or buyer's found
		case listed && n.Index != "" && !narrowed(n):
			bad = append(bad, fmt.Sprintf("%s of %s (condition %q)", n.NodeType, n.Index, n.IndexCond))
		}
		for _, c := range n.Plans {
			visit(c)
		}
	}
	visit(postgresPlan(t, db.primary, q.sql, q.args))
	return bad
}
