package main

import (
	"encoding/json"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

// processServer is a testServer whose admit serve runs as a child process.
func processServer(t *testing.T, e testenv.Engine) (*testServer, *process) {
	t.Helper()
	p := startProcess(t, append([]string{"serve", "--addr", "127.0.0.1:0", "--log-requests=false"}, storageArgs(e)...)...)
	return &testServer{t: t, base: "http://" + p.addr, engine: e}, p
}

// TestTwoProcessesNeverOversell runs 500 concurrent orders for 100 seats
// against two admit serve processes sharing one PostgreSQL.
func TestTwoProcessesNeverOversell(t *testing.T) {
	e := testenv.Engine{Name: "postgres", URL: testenv.PostgresURL(t)}
	a, _ := processServer(t, e)
	b, _ := processServer(t, e)
	c := buildCatalogue(t, a)
	tt := c.ticketType(t, a, map[string]any{"name": "Hot", "price": map[string]any{"amount": 100, "currency": "EUR"}, "quantity": 100})
	tokens := []string{c.attendee, a.createUser("fan@example.com", "attendee", "")}
	accepted, refused := hammer(t, []*testServer{a, b}, tokens, c.event.ID, tt.ID, 500)
	checkInventory(t, b, c, tt.ID, accepted, refused, 500)

	// Then half the orders are paid and every one is cancelled on one
	// process while its seats are bought again on the other.
	i := 0
	for id := range accepted {
		if i++; i%2 == 0 {
			a.call("POST", "/api/v1/orders/"+id+"/mark-paid", c.organizer, nil).want(t, 200)
		}
	}
	rebought := churn(t, b, a, c, tt.ID, accepted)
	for id, q := range rebought {
		accepted[id] = q
	}
	checkSeats(t, a, c, tt.ID, accepted)
}

// churn cancels every order on one server while a buyer orders the same
// seats again on the other, at once; it returns the answered re-buys.
func churn(t *testing.T, cancels, buys *testServer, c catalogue, ttID string, orders map[string]int64) map[string]int64 {
	var mu sync.Mutex
	rebought := map[string]int64{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for id, q := range orders {
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			if r, err := cancels.try("POST", "/api/v1/orders/"+id+"/cancel", c.organizer, nil); err != nil || r.StatusCode != 200 {
				t.Errorf("cancel %s: %v %s", id, err, r.body)
			}
		}()
		go func() {
			defer wg.Done()
			<-start
			r, err := buys.try("POST", "/api/v1/orders", c.attendee, orderBody(c.event.ID, ttID, int(q)))
			switch {
			case err != nil:
				t.Errorf("rebuy: %v", err)
			case r.StatusCode == 201:
				var o admit.Order
				if err := json.Unmarshal(r.body, &o); err != nil {
					t.Errorf("rebuy answer %s: %v", r.body, err)
				}
				mu.Lock()
				rebought[o.ID] = q
				mu.Unlock()
			case r.StatusCode != 409: // sold out at that moment is fine
				t.Errorf("rebuy: %d %s", r.StatusCode, r.body)
			}
		}()
	}
	close(start)
	wg.Wait()
	return rebought
}

// checkSeats checks that the seats of the live (pending or paid) orders
// plus the seats available make the quantity exactly: none counted twice,
// none lost.
func checkSeats(t *testing.T, s *testServer, c catalogue, ttID string, orders map[string]int64) {
	t.Helper()
	var live int64
	for id, q := range orders {
		var o admit.Order
		s.call("GET", "/api/v1/orders/"+id, c.organizer, nil).want(t, 200).decode(t, &o)
		switch o.Status {
		case admit.OrderPending, admit.OrderPaid:
			live += q
		case admit.OrderCancelled:
		default:
			t.Fatalf("order %s is %s", id, o.Status)
		}
	}
	var tt admit.TicketType
	s.call("GET", "/api/v1/events/"+c.event.ID+"/ticket-types/"+ttID, "", nil).want(t, 200).decode(t, &tt)
	if live+*tt.Available != tt.Quantity {
		t.Fatalf("%d seats in live orders and %d available of %d", live, *tt.Available, tt.Quantity)
	}
}

// TestCrashLosesNoAcknowledgedOrder kills admit serve (SIGKILL) in the middle
// of a stream of orders and payments, restarts it on the same database and
// checks that every answered order is intact and the seats add up.
func TestCrashLosesNoAcknowledgedOrder(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s, p := processServer(t, e)
		c := buildCatalogue(t, s)
		tt := c.ticketType(t, s, map[string]any{"name": "Crash", "price": map[string]any{"amount": 700, "currency": "EUR"}, "quantity": 150})
		buyers := []string{c.attendee, s.createUser("b1@example.com", "attendee", ""), s.createUser("b2@example.com", "attendee", "")}

		var mu sync.Mutex
		created := map[string]int64{} // order id → seats, answered 201
		paid := map[string]bool{}     // answered 200 to mark-paid
		var answered atomic.Int64
		killed := make(chan struct{})
		var once sync.Once
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-killed:
						return
					default:
					}
					q := int64((w+i)%3 + 1)
					r, err := s.try("POST", "/api/v1/orders", buyers[w%len(buyers)], orderBody(c.event.ID, tt.ID, int(q)))
					if err != nil || r.StatusCode != 201 {
						continue
					}
					var o admit.Order
					r.decode(t, &o)
					mu.Lock()
					created[o.ID] = q
					mu.Unlock()
					if r, err := s.try("POST", "/api/v1/orders/"+o.ID+"/mark-paid", c.organizer, nil); err == nil && r.StatusCode == 200 {
						mu.Lock()
						paid[o.ID] = true
						mu.Unlock()
					}
					if answered.Add(1) == 40 {
						once.Do(func() { p.cmd.Process.Signal(syscall.SIGKILL); close(killed) })
					}
				}
			}()
		}
		wg.Wait()
		p.cmd.Wait()

		s2, _ := processServer(t, e) // the same database, a new process
		byBuyer := map[string]bool{}
		var paidSeats, pendingSeats int64
		for _, tok := range buyers {
			cursor := ""
			for {
				var l list[admit.Order]
				s2.call("GET", "/api/v1/me/orders?limit=100&cursor="+url.QueryEscape(cursor), tok, nil).want(t, 200).decode(t, &l)
				for _, o := range l.Items {
					byBuyer[o.ID] = true
					switch o.Status {
					case admit.OrderPaid:
						paidSeats += o.Items[0].Quantity
						if int64(len(o.Tickets)) != o.Items[0].Quantity {
							t.Errorf("paid order %s has %d tickets for %d seats", o.ID, len(o.Tickets), o.Items[0].Quantity)
						}
					case admit.OrderPending:
						pendingSeats += o.Items[0].Quantity
					}
					if q, ok := created[o.ID]; ok && q != o.Items[0].Quantity {
						t.Errorf("order %s came back with %d seats, was %d", o.ID, o.Items[0].Quantity, q)
					}
					if paid[o.ID] && o.Status != admit.OrderPaid {
						t.Errorf("order %s was answered paid but is %s after the crash", o.ID, o.Status)
					}
				}
				if cursor = l.NextCursor; cursor == "" {
					break
				}
			}
		}
		for id := range created {
			if !byBuyer[id] {
				t.Errorf("order %s was answered 201 and is gone after the crash", id)
			}
		}
		var ev admit.Event
		s2.call("GET", "/api/v1/events/"+c.event.ID, "", nil).want(t, 200).decode(t, &ev)
		var avail int64
		for _, x := range ev.TicketTypes {
			if x.ID == tt.ID {
				avail = *x.Available
			}
		}
		var regs list[admit.Registrant]
		s2.call("GET", "/api/v1/users?limit=100&eid="+c.event.ID, c.organizer, nil).want(t, 200).decode(t, &regs)
		if avail != 150-paidSeats-pendingSeats || len(created) < 40 {
			t.Fatalf("after the crash: %d available, %d paid and %d held seats of 150 (%d orders answered)", avail, paidSeats, pendingSeats, len(created))
		}
		t.Logf("%s: %d orders answered before SIGKILL, %d answered paid; after restart %d paid and %d held seats", e.Name, len(created), len(paid), paidSeats, pendingSeats)
	})
}
