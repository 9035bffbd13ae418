package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

// ticketType adds a ticket type to the catalogue's event.
func (c catalogue) ticketType(t testing.TB, s *testServer, body map[string]any) admit.TicketType {
	t.Helper()
	var tt admit.TicketType
	s.call("POST", "/api/v1/events/"+c.event.ID+"/ticket-types", c.organizer, body).want(t, 201).decode(t, &tt)
	return tt
}

func orderBody(eventID, ticketTypeID string, q int) map[string]any {
	return map[string]any{"event_id": eventID, "items": []map[string]any{{"ticket_type_id": ticketTypeID, "quantity": q}}}
}

func TestOrderLifecycleThroughTheAPI(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := startServer(t, e)
		c := buildCatalogue(t, s)
		other := s.createUser("eve@example.com", "attendee", "")

		var o admit.Order
		placed := s.call("POST", "/api/v1/orders", c.attendee, map[string]any{"event_id": c.event.ID,
			"items":     []map[string]any{{"ticket_type_id": c.general.ID, "quantity": 2}},
			"attendees": []map[string]string{{"name": "Friend", "email": "friend@example.com"}}}).want(t, 201)
		placed.decode(t, &o)
		if loc := placed.Header.Get("Location"); loc != "/api/v1/orders/"+o.ID {
			t.Fatalf("new order at Location %q, want /api/v1/orders/%s", loc, o.ID)
		}
		if o.Status != admit.OrderPending || o.Total.Amount != 5000 || o.Total.Currency != "EUR" || len(o.Items) != 1 ||
			o.Items[0].UnitPrice.Amount != 2500 || o.Payment.Provider != "manual" || o.ExpiresAt.Sub(o.CreatedAt) != admit.DefaultHoldMinutes*time.Minute {
			t.Fatalf("new order: %+v", o)
		}
		var ev admit.Event
		s.call("GET", "/api/v1/events/"+c.event.ID, "", nil).want(t, 200).decode(t, &ev)
		if *ev.TicketTypes[0].Available != 298 {
			t.Fatalf("available %d while 2 are held, want 298", *ev.TicketTypes[0].Available)
		}

		// Who may see and act on it.
		s.call("GET", "/api/v1/orders/"+o.ID, c.attendee, nil).want(t, 200)
		s.call("GET", "/api/v1/orders/"+o.ID, c.organizer, nil).want(t, 200)
		s.call("GET", "/api/v1/orders/"+o.ID, other, nil).wantProblem(t, 404, "")
		s.call("POST", "/api/v1/orders/"+o.ID+"/cancel", other, nil).wantProblem(t, 404, "")
		s.call("POST", "/api/v1/orders/"+o.ID+"/mark-paid", c.attendee, nil).wantProblem(t, 403, "")

		// The organizer finds the order awaiting its bank transfer.
		awaiting := "/api/v1/events/" + c.event.ID + "/orders?status=pending"
		s.call("GET", awaiting, c.attendee, nil).wantProblem(t, 403, "")
		var owing list[admit.Order]
		s.call("GET", awaiting, c.organizer, nil).want(t, 200).decode(t, &owing)
		if len(owing.Items) != 1 || owing.Items[0].ID != o.ID || owing.Items[0].BuyerEmail == "" || owing.Items[0].Payment.ClientSecret != "" {
			t.Fatalf("orders awaiting payment: %+v", owing.Items)
		}

		s.call("POST", "/api/v1/orders/"+o.ID+"/mark-paid", c.organizer, nil).want(t, 200).decode(t, &o)
		if o.Status != admit.OrderPaid || len(o.Tickets) != 2 {
			t.Fatalf("after mark-paid: %s with %d tickets", o.Status, len(o.Tickets))
		}
		names := o.Tickets[0].AttendeeName + "," + o.Tickets[1].AttendeeName
		if !strings.Contains(names, "Friend") || !strings.Contains(names, "ann") && !strings.Contains(names, "Ann") {
			t.Fatalf("ticket holders %q: the named friend and the buyer", names)
		}
		s.call("DELETE", "/api/v1/orders/"+o.ID, c.attendee, nil).wantProblem(t, 409, "")

		var mine list[admit.Ticket]
		s.call("GET", "/api/v1/me/tickets", c.attendee, nil).want(t, 200).decode(t, &mine)
		var theirs list[admit.Ticket]
		s.call("GET", "/api/v1/me/tickets", other, nil).want(t, 200).decode(t, &theirs)
		if len(mine.Items) != 2 || len(theirs.Items) != 0 {
			t.Fatalf("me/tickets: mine %d, another attendee's %d", len(mine.Items), len(theirs.Items))
		}
		var orders list[admit.Order]
		s.call("GET", "/api/v1/me/orders", c.attendee, nil).want(t, 200).decode(t, &orders)
		if len(orders.Items) != 1 || orders.Items[0].ID != o.ID {
			t.Fatalf("me/orders: %+v", orders.Items)
		}

		// The organizer's attendee list, as JSON pages and as CSV.
		s.call("GET", "/api/v1/users?eid="+c.event.ID, c.attendee, nil).wantProblem(t, 403, "")
		s.call("GET", "/api/v1/users", c.organizer, nil).wantProblem(t, 400, "query.eid")
		var regs list[admit.Registrant]
		s.call("GET", "/api/v1/users?limit=1&eid="+c.event.ID, c.organizer, nil).want(t, 200).decode(t, &regs)
		if len(regs.Items) != 1 || regs.NextCursor == "" || regs.Items[0].OrderStatus != admit.OrderPaid {
			t.Fatalf("registrants page: %+v", regs)
		}
		r := s.call("GET", "/api/v1/users?eid="+c.event.ID, c.organizer, nil, "Accept", "text/csv").want(t, 200)
		rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
		if err != nil || len(rows) != 3 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") ||
			!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment;") {
			t.Fatalf("CSV: %v %q %v", err, r.body, r.Header)
		}
		// Personal data: no shared cache keeps it, and the list's two forms
		// are told apart by Accept.
		if r.Header.Get("Cache-Control") != "private, no-store" || r.Header.Get("Vary") != "Accept" {
			t.Fatalf("attendee CSV with Cache-Control %q, Vary %q", r.Header.Get("Cache-Control"), r.Header.Get("Vary"))
		}
		for _, path := range []string{"/api/v1/users?eid=" + c.event.ID, "/api/v1/orders/" + o.ID, "/api/v1/me/tickets"} {
			if cc := s.call("GET", path, c.organizer, nil).want(t, 200).Header.Get("Cache-Control"); cc != "private, no-store" {
				t.Fatalf("GET %s: Cache-Control %q, want private, no-store", path, cc)
			}
		}
		var fields []map[string]any // the CSV's columns are the JSON's fields
		s.call("GET", "/api/v1/users?eid="+c.event.ID, c.organizer, nil).want(t, 200).decode(t, &struct{ Items any }{&fields})
		if got, want := slices.Sorted(slices.Values(rows[0])), slices.Sorted(maps.Keys(fields[0])); !slices.Equal(got, want) {
			t.Fatalf("CSV columns %v, JSON fields %v", got, want)
		}
		s.call("GET", "/api/v1/users?eid="+c.event.ID, c.organizer, nil, "Accept", "application/json, text/csv;q=0.5").want(t, 200).decode(t, &regs)

		// Unregister one ticket, then the rest: seats return.
		var after admit.Order
		s.call("POST", "/api/v1/tickets/"+o.Tickets[0].ID+"/cancel", c.attendee, nil).want(t, 200).decode(t, &after)
		if after.Status != admit.OrderPaid || after.Refunded.Amount != 2500 {
			t.Fatalf("after one ticket: %s refunded %d", after.Status, after.Refunded.Amount)
		}
		s.call("POST", "/api/v1/orders/"+o.ID+"/cancel", c.attendee, nil).want(t, 200).decode(t, &after)
		if after.Status != admit.OrderCancelled || after.Refunded.Amount != 5000 {
			t.Fatalf("after cancel: %s refunded %d", after.Status, after.Refunded.Amount)
		}
		s.call("GET", "/api/v1/events/"+c.event.ID, "", nil).want(t, 200).decode(t, &ev)
		if *ev.TicketTypes[0].Available != 300 {
			t.Fatalf("available %d after cancelling everything, want 300", *ev.TicketTypes[0].Available)
		}
		payOutRefunds(t, s, c, after)
	})
}

// payOutRefunds: the refunds of a manual order stay owed, even once the
// outbox has run, until the organizer pays them back and marks them so.
func payOutRefunds(t *testing.T, s *testServer, c catalogue, o admit.Order) {
	if _, err := s.m.outbox.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	owedPath := "/api/v1/events/" + c.event.ID + "/refunds?status=pending"
	s.call("GET", owedPath, c.attendee, nil).wantProblem(t, 403, "")
	var owed list[admit.Refund]
	s.call("GET", owedPath, c.organizer, nil).want(t, 200).decode(t, &owed)
	if len(owed.Items) != 2 || owed.Items[0].OrderID != o.ID || owed.Items[0].Amount.Amount != 2500 || owed.Items[0].BuyerEmail == "" {
		t.Fatalf("refunds owed after cancelling a manual order: %+v", owed.Items)
	}
	first := "/api/v1/refunds/" + owed.Items[0].ID + "/mark-refunded"
	s.call("POST", first, c.attendee, nil).wantProblem(t, 404, "")
	var paid admit.Refund
	s.call("POST", first, c.organizer, nil, "Idempotency-Key", "payout-1").want(t, 200).decode(t, &paid)
	if paid.Status != admit.RefundSucceeded || paid.RefundedAt == nil {
		t.Fatalf("marked refunded: %+v", paid)
	}
	if r := s.call("POST", first, c.organizer, nil, "Idempotency-Key", "payout-1").want(t, 200); r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("a retried mark-refunded was not answered from its key")
	}
	s.call("GET", owedPath, c.organizer, nil).want(t, 200).decode(t, &owed)
	if len(owed.Items) != 1 || owed.Items[0].ID == paid.ID {
		t.Fatalf("still owed after one payout: %+v", owed.Items)
	}
	var mine admit.Order
	s.call("GET", "/api/v1/orders/"+o.ID, c.attendee, nil).want(t, 200).decode(t, &mine)
	if len(mine.Refunds) != 2 || mine.Refunds[0].Status != admit.RefundSucceeded || mine.Refunds[1].Status != admit.RefundPending {
		t.Fatalf("the buyer's view of the refunds: %+v", mine.Refunds)
	}
}

func TestOrderRulesThroughTheAPI(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := startServer(t, e)
		c := buildCatalogue(t, s)
		few := c.ticketType(t, s, map[string]any{"name": "Few", "price": map[string]any{"amount": 100, "currency": "EUR"}, "quantity": 3})
		usd := c.ticketType(t, s, map[string]any{"name": "Dollar", "price": map[string]any{"amount": 100, "currency": "USD"}, "quantity": 3})
		later := c.ticketType(t, s, map[string]any{"name": "Later", "price": map[string]any{"amount": 100, "currency": "EUR"}, "quantity": 3,
			"sale_starts_at": time.Now().Add(time.Hour), "sale_ends_at": time.Now().Add(2 * time.Hour)})

		p := s.call("POST", "/api/v1/orders", c.attendee, orderBody(c.event.ID, few.ID, 4)).wantProblem(t, 409, "")
		if !strings.HasSuffix(p.Type, "/sold-out") || !strings.Contains(string(s.call("POST", "/api/v1/orders", c.attendee, orderBody(c.event.ID, few.ID, 4)).body), `"available":3`) {
			t.Fatalf("sold out: %+v", p)
		}
		s.call("POST", "/api/v1/orders", c.attendee, orderBody(c.event.ID, c.general.ID, 11)).wantProblem(t, 422, "body.items[0].quantity")
		s.call("POST", "/api/v1/orders", c.attendee, orderBody(c.event.ID, later.ID, 1)).wantProblem(t, 409, "")
		s.call("POST", "/api/v1/orders", c.attendee, map[string]any{"event_id": c.event.ID, "items": []map[string]any{
			{"ticket_type_id": few.ID, "quantity": 1}, {"ticket_type_id": usd.ID, "quantity": 1}}}).wantProblem(t, 422, "body.items")
		s.call("POST", "/api/v1/orders", c.attendee, orderBody(c.event.ID, "tkt_nothing", 1)).wantProblem(t, 422, "body.items[0].ticket_type_id")
		s.call("POST", "/api/v1/orders", c.attendee, orderBody("evt_nothing", few.ID, 1)).wantProblem(t, 404, "")
		s.call("POST", "/api/v1/orders", "", orderBody(c.event.ID, few.ID, 1)).wantProblem(t, 401, "")
		s.call("POST", "/api/v1/orders", c.attendee, `{"event_id":"x","items":[{"ticket_type_id":"y","quantity":0}]}`).wantProblem(t, 422, "")

		// A draft is not public: ordering from it is a 404 to attendees, and a
		// clear 409 to its organizers; so is its attendee list.
		var draft admit.Event
		start := time.Now().Add(96 * time.Hour).UTC().Truncate(time.Second)
		s.call("POST", "/api/v1/events", c.organizer, map[string]any{"title": "Rehearsal", "city_id": c.city.ID, "location_id": c.venue.ID,
			"starts_at": start, "ends_at": start.Add(time.Hour)}).want(t, 201).decode(t, &draft)
		var draftType admit.TicketType
		s.call("POST", "/api/v1/events/"+draft.ID+"/ticket-types", c.organizer, map[string]any{"name": "Seat",
			"price": map[string]any{"amount": 0, "currency": "EUR"}, "quantity": 5}).want(t, 201).decode(t, &draftType)
		s.call("POST", "/api/v1/orders", c.attendee, orderBody(draft.ID, draftType.ID, 1)).wantProblem(t, 404, "")
		if p := s.call("POST", "/api/v1/orders", c.organizer, orderBody(draft.ID, draftType.ID, 1)).wantProblem(t, 409, ""); !strings.HasSuffix(p.Type, "/event-not-published") {
			t.Fatalf("ordering from one's own draft: %+v", p)
		}
		s.call("GET", "/api/v1/users?eid="+draft.ID, c.attendee, nil).wantProblem(t, 404, "")
		s.call("GET", "/api/v1/users?eid="+draft.ID, c.organizer, nil).want(t, 200)

		// A free ticket is paid at once.
		free := c.ticketType(t, s, map[string]any{"name": "Free", "price": map[string]any{"amount": 0, "currency": "EUR"}, "quantity": 3})
		var o admit.Order
		s.call("POST", "/api/v1/orders", c.attendee, orderBody(c.event.ID, free.ID, 1)).want(t, 201).decode(t, &o)
		if o.Status != admit.OrderPaid || len(o.Tickets) != 1 || o.Tickets[0].Status != admit.TicketValid {
			t.Fatalf("free order: %+v", o)
		}

		// Cancelling the event releases holds and refunds paid orders.
		var pending admit.Order
		s.call("POST", "/api/v1/orders", c.attendee, orderBody(c.event.ID, few.ID, 2)).want(t, 201).decode(t, &pending)
		s.call("POST", "/api/v1/events/"+c.event.ID+"/cancel", c.organizer, nil).want(t, 200)
		s.call("GET", "/api/v1/orders/"+pending.ID, c.attendee, nil).want(t, 200).decode(t, &pending)
		s.call("GET", "/api/v1/orders/"+o.ID, c.attendee, nil).want(t, 200).decode(t, &o)
		if pending.Status != admit.OrderCancelled || o.Status != admit.OrderCancelled || o.Tickets[0].Status != admit.TicketCancelled {
			t.Fatalf("after the event's cancellation: pending %s, free %s", pending.Status, o.Status)
		}
		s.call("POST", "/api/v1/orders", c.attendee, orderBody(c.event.ID, few.ID, 1)).wantProblem(t, 409, "")
	})
}

func TestIdempotentOrdersThroughTheAPI(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := startServer(t, e)
		c := buildCatalogue(t, s)
		body := orderBody(c.event.ID, c.general.ID, 1)
		first := s.call("POST", "/api/v1/orders", c.attendee, body, "Idempotency-Key", "k1").want(t, 201)
		again := s.call("POST", "/api/v1/orders", c.attendee, body, "Idempotency-Key", "k1").want(t, 201)
		if string(first.body) != string(again.body) || again.Header.Get("Idempotent-Replayed") != "true" ||
			again.Header.Get("Location") != first.Header.Get("Location") {
			t.Fatalf("a retried order answered differently:\n%s %v\n%s %v", first.body, first.Header, again.body, again.Header)
		}
		s.call("POST", "/api/v1/orders", c.attendee, orderBody(c.event.ID, c.general.ID, 2), "Idempotency-Key", "k1").wantProblem(t, 422, "")

		// Racing retries: one order, one answer.
		var wg sync.WaitGroup
		answers := make([]string, 10)
		start := make(chan struct{})
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r, err := s.try("POST", "/api/v1/orders", c.attendee, body, "Idempotency-Key", "race")
				if err != nil || r.StatusCode != 201 {
					t.Errorf("racing retry %d: %v %s", i, err, r.body) // off the test goroutine: never Fatal
					return
				}
				answers[i] = string(r.body)
			}()
		}
		close(start)
		wg.Wait()
		for _, a := range answers[1:] {
			if a != answers[0] {
				t.Fatalf("racing retries got different answers:\n%s\n%s", answers[0], a)
			}
		}
		var orders list[admit.Order]
		s.call("GET", "/api/v1/me/orders", c.attendee, nil).want(t, 200).decode(t, &orders)
		if len(orders.Items) != 2 {
			t.Fatalf("%d orders after retries of two keys, want 2", len(orders.Items))
		}
		// Cancelling twice with one key does it once.
		var o admit.Order
		first.decode(t, &o)
		// Cancel takes no body: one sent anyway (as some clients always
		// send {}) neither changes the request nor makes a retry without it
		// another one.
		a := s.call("POST", "/api/v1/orders/"+o.ID+"/cancel", c.attendee, `{}`, "Idempotency-Key", "c1").want(t, 200)
		b := s.call("POST", "/api/v1/orders/"+o.ID+"/cancel", c.attendee, nil, "Idempotency-Key", "c1").want(t, 200)
		if string(a.body) != string(b.body) || b.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatal("a retried cancel answered differently")
		}
	})
}

// TestConcurrentOrdersThroughTheAPI sends 500 orders at once for 100 seats.
func TestConcurrentOrdersThroughTheAPI(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := startServer(t, e)
		c := buildCatalogue(t, s)
		tt := c.ticketType(t, s, map[string]any{"name": "Hot", "price": map[string]any{"amount": 100, "currency": "EUR"}, "quantity": 100})
		tokens := []string{c.attendee}
		for i := range 3 {
			tokens = append(tokens, s.createUser(fmt.Sprintf("fan%d@example.com", i), "attendee", ""))
		}
		accepted, refused := hammer(t, []*testServer{s}, tokens, c.event.ID, tt.ID, 500)
		checkInventory(t, s, c, tt.ID, accepted, refused, 500)
	})
}

// hammer sends n concurrent orders of 1–4 seats spread over servers and
// returns the accepted orders' seats by order id and the number refused.
func hammer(t *testing.T, servers []*testServer, tokens []string, eventID, ttID string, n int) (map[string]int64, int) {
	var mu sync.Mutex
	accepted := map[string]int64{}
	refused := 0
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			q := i%4 + 1
			// Off the test goroutine: errors, never Fatal.
			r, err := servers[i%len(servers)].try("POST", "/api/v1/orders", tokens[i%len(tokens)], orderBody(eventID, ttID, q))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("order: %v", err)
				return
			}
			switch r.StatusCode {
			case 201:
				var o admit.Order
				if err := json.Unmarshal(r.body, &o); err != nil || o.ID == "" {
					t.Errorf("order answer %s: %v", r.body, err)
				}
				accepted[o.ID] = int64(q)
			case 409:
				refused++
			default:
				t.Errorf("order: %d %s", r.StatusCode, r.body)
			}
		}()
	}
	close(start)
	wg.Wait()
	return accepted, refused
}

// checkInventory checks that every accepted order holds its seats, that the
// seats held add up and never pass the quantity.
func checkInventory(t *testing.T, s *testServer, c catalogue, ttID string, accepted map[string]int64, refused, n int) {
	t.Helper()
	var total int64
	for id, q := range accepted {
		var o admit.Order
		s.call("GET", "/api/v1/orders/"+id, c.organizer, nil).want(t, 200).decode(t, &o)
		if o.Status != admit.OrderPending || o.Items[0].Quantity != q {
			t.Fatalf("accepted order %s: %s for %d seats, want pending for %d", id, o.Status, o.Items[0].Quantity, q)
		}
		total += q
	}
	var ev admit.Event
	s.call("GET", "/api/v1/events/"+c.event.ID, "", nil).want(t, 200).decode(t, &ev)
	var avail int64 = -1
	for _, tt := range ev.TicketTypes {
		if tt.ID == ttID {
			avail = *tt.Available
		}
	}
	if total > 100 || total+avail != 100 || len(accepted)+refused != n || total < 97 {
		t.Fatalf("%d seats in %d accepted orders, %d available, %d refused of %d", total, len(accepted), avail, refused, n)
	}
}
