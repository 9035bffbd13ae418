package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

// onsale is an event with one ticket type of the given quantity and price,
// and attendees to buy it.
type onsale struct {
	*fixture
	event     *admit.Event
	tt        string
	attendees []context.Context
}

func newOnsale(t *testing.T, e testenv.Engine, quantity int64, price admit.Money, provider string) *onsale {
	t.Helper()
	f := newFixture(t, e)
	f.db.StripeEnabled = true // the store's tests play the payment provider themselves
	city := f.city(t, unique("City"), "DE", "Europe/Berlin")
	loc := f.location(t, f.org, city, "Hall")
	ev := &admit.Event{Title: "Onsale", CityID: city.ID, LocationID: loc.ID, StartsAt: testNow.Add(30 * 24 * time.Hour),
		EndsAt: testNow.Add(30*24*time.Hour + 2*time.Hour), PaymentProvider: provider, RefundUntilHoursBeforeStart: 48}
	must(t, "CreateEvent", f.db.CreateEvent(f.org, ev))
	tt := &admit.TicketType{EventID: ev.ID, Name: "General", Price: price, Quantity: quantity}
	must(t, "CreateTicketType", f.db.CreateTicketType(f.org, tt))
	f.publish(t, f.org, ev)
	s := &onsale{fixture: f, event: ev, tt: tt.ID}
	for i := range 8 {
		ctx, _ := f.user(t, fmt.Sprintf("buyer%d@example.com", i), admit.RoleAttendee, "")
		s.attendees = append(s.attendees, ctx)
	}
	return s
}

func (s *onsale) order(ctx context.Context, q int64) (*admit.Order, error) {
	return s.db.CreateOrder(ctx, admit.NewOrder{EventID: s.event.ID, Items: []admit.NewOrderItem{{TicketTypeID: s.tt, Quantity: q}}})
}

// paidOrder places an order of q seats for buyer and has the organizer
// mark it paid; it returns the paid order, with its tickets.
func (s *onsale) paidOrder(t *testing.T, buyer context.Context, q int64) *admit.Order {
	t.Helper()
	o, err := s.order(buyer, q)
	must(t, "order", err)
	o, err = s.db.MarkPaid(s.org, o.ID)
	must(t, "MarkPaid", err)
	return o
}

// outboxMessages returns the payloads of the outbox messages of a topic,
// of one order (or of all when orderID is ""), oldest first.
func (s *onsale) outboxMessages(t *testing.T, topic, orderID string) []map[string]any {
	t.Helper()
	rows, err := s.db.primary.Query(`SELECT payload FROM outbox WHERE topic = $1 AND (aggregate_id = $2 OR $2 = '') ORDER BY seq`, topic, orderID)
	must(t, "outbox", err)
	payloads, err := scanAll(rows, func(sc scanner) (p map[string]any, err error) {
		var raw string
		if err := sc.Scan(&raw); err != nil {
			return nil, err
		}
		return p, json.Unmarshal([]byte(raw), &p)
	})
	must(t, "outbox payloads", err)
	return payloads
}

// counts reads the ticket type's counters and checks them against the rows:
// held = seats of holds, sold = valid tickets, sold + held <= quantity.
func (s *onsale) counts(t *testing.T) (sold, held int64) {
	t.Helper()
	var quantity, holds, tickets int64
	q := `SELECT quantity, sold, held,
		(SELECT COALESCE(SUM(quantity), 0) FROM holds WHERE ticket_type_id = $1),
		(SELECT COUNT(*) FROM tickets WHERE ticket_type_id = $1 AND status = 'valid')
		FROM ticket_types WHERE id = $1`
	if err := s.db.primary.QueryRow(q, s.tt).Scan(&quantity, &sold, &held, &holds, &tickets); err != nil {
		t.Fatal(err)
	}
	if sold+held > quantity || held != holds || sold != tickets {
		t.Fatalf("inventory broken: quantity %d sold %d held %d (hold rows %d, valid tickets %d)", quantity, sold, held, holds, tickets)
	}
	return sold, held
}

func TestConcurrentOrdersNeverOversell(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 100, eur(1000), admit.ProviderManual)
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted := map[string]int64{}
		var refused int
		start := make(chan struct{})
		for i := range 500 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				q := int64(i%4 + 1)
				o, err := s.order(s.attendees[i%len(s.attendees)], q)
				mu.Lock()
				defer mu.Unlock()
				var ae *admit.Error
				switch {
				case err == nil:
					accepted[o.ID] = q
				case errors.As(err, &ae) && ae.Kind == admit.KindSoldOut && ae.Available != nil && *ae.Available < q:
					refused++
				default:
					t.Errorf("order of %d: %v", q, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		var total int64
		for id, q := range accepted {
			total += q
			var holds int64
			s.db.primary.QueryRow(`SELECT COALESCE(SUM(quantity), 0) FROM holds WHERE order_id = $1`, id).Scan(&holds)
			if holds != q {
				t.Errorf("order %s holds %d seats, asked for %d", id, holds, q)
			}
		}
		orders := int(s.number(t, `SELECT COUNT(*) FROM orders`))
		_, held := s.counts(t)
		if held != total || total > 100 || orders != len(accepted) || refused+len(accepted) != 500 {
			t.Fatalf("held %d, accepted %d seats in %d orders (%d rows), refused %d", held, total, len(accepted), orders, refused)
		}
		if total < 97 { // 500 requests for 100 seats leave at most 3 unsold (a 4 refused with 3 left)
			t.Fatalf("only %d of 100 seats were taken", total)
		}
	})
}

func TestExpiredHoldsStopCountingAtExpiry(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(500), admit.ProviderManual)
		first, err := s.order(s.attendees[0], 8)
		must(t, "first order", err)
		if _, err := s.order(s.attendees[1], 4); admit.ErrorCode(err) != admit.ECONFLICT {
			t.Fatalf("4 more of 10 with 8 held: %v, want sold out", err)
		}
		s.setNow(first.ExpiresAt.Add(-time.Microsecond))
		if _, err := s.order(s.attendees[1], 4); admit.ErrorCode(err) != admit.ECONFLICT {
			t.Fatal("the hold stopped counting before its expiry")
		}
		s.setNow(first.ExpiresAt) // no sweeper has run
		second, err := s.order(s.attendees[1], 4)
		must(t, "order after expiry", err)
		if second.Status != admit.OrderPending {
			t.Fatalf("second order %s", second.Status)
		}
		got, err := s.db.FindOrder(s.attendees[0], first.ID)
		must(t, "FindOrder", err)
		if got.Status != admit.OrderExpired {
			t.Fatalf("lapsed order shows %s, want expired", got.Status)
		}
		if _, held := s.counts(t); held != 4 {
			t.Fatalf("held %d, want the second order's 4", held)
		}
		// The sweeper records the expiry and its outbox row.
		s.setNow(second.ExpiresAt)
		n, err := s.db.ExpireOrders(context.Background(), 100)
		if err != nil || n != 2 { // the first order's holds were swept, but its expiry not recorded yet
			t.Fatalf("ExpireOrders = %d, %v; want both lapsed orders", n, err)
		}
		var expired, told int
		s.db.primary.QueryRow(`SELECT COUNT(*) FROM orders WHERE status = 'expired'`).Scan(&expired)
		s.db.primary.QueryRow(`SELECT COUNT(*) FROM outbox WHERE topic = 'order.expired'`).Scan(&told)
		if expired != 2 || told != 2 {
			t.Fatalf("%d orders recorded expired, %d outbox rows; want 2 and 2", expired, told)
		}
		if _, held := s.counts(t); held != 0 {
			t.Fatalf("held %d after expiry", held)
		}
	})
}

// An expired order can be cancelled by its buyer, before the sweeper
// records its expiry or after, with the same answer; cancelled, it can no
// longer be paid late. Its event's cancellation cancels it too.
func TestCancellingAnExpiredOrder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(500), admit.ProviderManual)
		var orders []*admit.Order
		for i := range 3 {
			o, err := s.order(s.attendees[i], 2)
			must(t, "order", err)
			orders = append(orders, o)
		}
		s.setNow(orders[0].ExpiresAt)
		unswept, err := s.db.CancelOrder(s.attendees[0], orders[0].ID)
		must(t, "cancel an expired order the sweeper has not seen", err)
		if n, err := s.db.ExpireOrders(context.Background(), 10); err != nil || n != 2 {
			t.Fatalf("ExpireOrders = %d, %v; want the other two", n, err)
		}
		swept, err := s.db.ReleaseOrder(s.attendees[1], orders[1].ID)
		must(t, "release an expired order the sweeper recorded", err)
		if unswept.Status != admit.OrderCancelled || swept.Status != admit.OrderCancelled {
			t.Fatalf("cancelled expired orders are %s and %s, want cancelled", unswept.Status, swept.Status)
		}
		if _, err := s.db.MarkPaid(s.org, orders[1].ID); admit.ErrorCode(err) != admit.ECONFLICT {
			t.Fatalf("a late payment of a cancelled order: %v, want a conflict", err)
		}
		_, err = s.db.CancelEvent(s.org, s.event.ID)
		must(t, "CancelEvent", err)
		withEvent, err := s.db.FindOrder(s.attendees[2], orders[2].ID)
		must(t, "FindOrder", err)
		if withEvent.Status != admit.OrderCancelled {
			t.Fatalf("an expired order of a cancelled event is %s, want cancelled (its payment stopped)", withEvent.Status)
		}
		if sold, held := s.counts(t); sold != 0 || held != 0 {
			t.Fatalf("sold %d, held %d: no seat may be given back twice", sold, held)
		}
		// Each cancellation tells the outbox what it was, to stop its payment.
		var from []any
		for _, m := range s.outboxMessages(t, "order.cancelled", "") {
			from = append(from, m["from"])
		}
		if !slices.Equal(from, []any{"pending", "expired", "expired"}) {
			t.Fatalf("order.cancelled rows from %v, want pending (unswept), expired, expired", from)
		}
	})
}

func TestFreeOrdersArePaidAtOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 5, eur(0), admit.ProviderStripe)
		o, err := s.db.CreateOrder(s.attendees[0], admit.NewOrder{EventID: s.event.ID,
			Items:     []admit.NewOrderItem{{TicketTypeID: s.tt, Quantity: 2}},
			Attendees: []admit.Attendee{{Name: "Guest One", Email: "one@example.com"}}})
		must(t, "free order", err)
		if o.Status != admit.OrderPaid || o.Payment.Provider != admit.ProviderFree || len(o.Tickets) != 2 {
			t.Fatalf("free order: %s via %s with %d tickets", o.Status, o.Payment.Provider, len(o.Tickets))
		}
		if o.Tickets[0].AttendeeName != "Guest One" && o.Tickets[1].AttendeeName != "Guest One" {
			t.Fatalf("the named attendee has no ticket: %+v", o.Tickets)
		}
		if sold, held := s.counts(t); sold != 2 || held != 0 {
			t.Fatalf("sold %d held %d", sold, held)
		}
	})
}

func TestPaymentAfterExpiry(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 4, eur(2500), admit.ProviderManual)
		lucky, err := s.order(s.attendees[0], 2)
		must(t, "order", err)
		unlucky, err := s.order(s.attendees[1], 2)
		must(t, "order", err)
		// Both lapse; someone else takes two seats; both are paid late.
		s.setNow(lucky.ExpiresAt.Add(time.Minute))
		_, err = s.order(s.attendees[2], 2)
		must(t, "order after expiry", err)
		paid, err := s.db.MarkPaid(s.org, lucky.ID)
		must(t, "late payment with seats left", err)
		if paid.Status != admit.OrderPaid || len(paid.Tickets) != 2 {
			t.Fatalf("late payment with seats left: %s with %d tickets", paid.Status, len(paid.Tickets))
		}
		failed, err := s.db.MarkPaid(s.org, unlucky.ID)
		must(t, "late payment without seats", err)
		if failed.Status != admit.OrderFailed || len(failed.Tickets) != 0 || failed.Refunded.Amount != 5000 {
			t.Fatalf("late payment without seats: %s, %d tickets, refunded %d", failed.Status, len(failed.Tickets), failed.Refunded.Amount)
		}
		var refunds, told int
		s.db.primary.QueryRow(`SELECT COUNT(*) FROM refunds WHERE order_id = $1 AND amount = 5000`, unlucky.ID).Scan(&refunds)
		s.db.primary.QueryRow(`SELECT COUNT(*) FROM outbox WHERE aggregate_id = $1 AND topic = 'order.failed'`, unlucky.ID).Scan(&told)
		if refunds != 1 || told != 1 {
			t.Fatalf("failed order: %d refunds, %d outbox rows telling the attendee", refunds, told)
		}
		// Confirming again changes nothing.
		again, err := s.db.MarkPaid(s.org, unlucky.ID)
		must(t, "second confirmation", err)
		if again.Status != admit.OrderFailed || again.Refunded.Amount != 5000 {
			t.Fatalf("second confirmation changed the order: %s refunded %d", again.Status, again.Refunded.Amount)
		}
		if sold, held := s.counts(t); sold != 2 || held != 2 {
			t.Fatalf("sold %d held %d, want 2 and 2", sold, held)
		}
	})
}

func TestWebhookReplayChangesNothing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderStripe)
		o, err := s.order(s.attendees[0], 3)
		must(t, "order", err)
		sys := admit.NewContextWithUser(context.Background(), admit.System)
		for range 2 {
			got, err := s.db.ConfirmPayment(sys, Payment{Provider: "stripe", NoticeID: "evt_1", OrderID: o.ID, Ref: "pi_1", Amount: eur(3000)})
			must(t, "ConfirmPayment", err)
			if got.Status != admit.OrderPaid || len(got.Tickets) != 3 {
				t.Fatalf("after the webhook: %s with %d tickets", got.Status, len(got.Tickets))
			}
		}
		var paidRows int
		s.db.primary.QueryRow(`SELECT COUNT(*) FROM outbox WHERE aggregate_id = $1 AND topic = 'order.paid'`, o.ID).Scan(&paidRows)
		if sold, _ := s.counts(t); sold != 3 || paidRows != 1 {
			t.Fatalf("sold %d and %d order.paid rows after a replayed webhook", sold, paidRows)
		}
	})
}

func TestCancellationReturnsSeatsAndRefunds(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderManual)
		o := s.paidOrder(t, s.attendees[0], 3)
		if _, err := s.db.ReleaseOrder(s.attendees[0], o.ID); admit.ErrorCode(err) != admit.ECONFLICT {
			t.Fatalf("releasing a paid order: %v, want conflict", err)
		}
		if _, err := s.db.CancelOrder(s.attendees[1], o.ID); admit.ErrorCode(err) != admit.ENOTFOUND {
			t.Fatalf("another attendee cancelling: %v, want not found", err)
		}
		s.setNow(testNow.Add(time.Minute))
		got, err := s.db.CancelTicket(s.attendees[0], o.Tickets[0].ID)
		must(t, "CancelTicket", err)
		if got.Status != admit.OrderPaid || got.Refunded.Amount != 1000 || !got.UpdatedAt.Equal(testNow.Add(time.Minute)) {
			t.Fatalf("after one ticket: %s refunded %d, updated at %s", got.Status, got.Refunded.Amount, got.UpdatedAt)
		}
		if sold, _ := s.counts(t); sold != 2 {
			t.Fatalf("sold %d after cancelling one of 3", sold)
		}
		// The same ticket again, someone else's ticket, no such ticket:
		// refused, and nothing moves.
		if _, err := s.db.CancelTicket(s.attendees[0], o.Tickets[0].ID); admit.ErrorCode(err) != admit.ECONFLICT {
			t.Fatalf("cancelling a cancelled ticket: %v, want conflict", err)
		}
		if _, err := s.db.CancelTicket(s.attendees[1], o.Tickets[1].ID); admit.ErrorCode(err) != admit.ENOTFOUND {
			t.Fatalf("another attendee cancelling a ticket: %v, want not found", err)
		}
		if _, err := s.db.CancelTicket(s.attendees[0], "tkt_nothing"); admit.ErrorCode(err) != admit.ENOTFOUND {
			t.Fatalf("cancelling an unknown ticket: %v, want not found", err)
		}
		if got, _ := s.db.FindOrder(s.attendees[0], o.ID); got.Refunded.Amount != 1000 {
			t.Fatalf("refused cancels refunded: %d, want still 1000", got.Refunded.Amount)
		}
		if sold, _ := s.counts(t); sold != 2 {
			t.Fatalf("sold %d after refused cancels, want 2", sold)
		}
		// Past the cutoff the rest is cancelled without refund.
		s.setNow(s.event.StartsAt.Add(-47 * time.Hour))
		got, err = s.db.CancelOrder(s.attendees[0], o.ID)
		must(t, "CancelOrder", err)
		if got.Status != admit.OrderCancelled || got.Refunded.Amount != 1000 {
			t.Fatalf("after the cutoff: %s refunded %d, want cancelled and still 1000", got.Status, got.Refunded.Amount)
		}
		if sold, held := s.counts(t); sold != 0 || held != 0 {
			t.Fatalf("sold %d held %d after cancelling everything", sold, held)
		}
	})
}

func TestConcurrentCancelsAndRebuys(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 20, eur(0), admit.ProviderManual) // free: paid at once
		var mine []*admit.Order
		for i := range 10 {
			o, err := s.order(s.attendees[i%len(s.attendees)], 2)
			must(t, "order", err)
			mine = append(mine, o)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		cancelErrs := make([]error, len(mine))
		rebuys := make([]*admit.Order, len(mine))
		rebuyErrs := make([]error, len(mine))
		for i, o := range mine {
			wg.Add(2)
			go func() {
				defer wg.Done()
				<-start
				_, cancelErrs[i] = s.db.CancelOrder(s.attendees[i%len(s.attendees)], o.ID)
			}()
			go func() {
				defer wg.Done()
				<-start
				rebuys[i], rebuyErrs[i] = s.order(s.attendees[(i+1)%len(s.attendees)], 2)
			}()
		}
		close(start)
		wg.Wait()
		var rebought int64
		for i := range mine {
			must(t, "cancel", cancelErrs[i])
			switch {
			case rebuyErrs[i] == nil && rebuys[i].Status == admit.OrderPaid:
				rebought += 2
			case admit.ErrorCode(rebuyErrs[i]) != admit.ECONFLICT: // sold out at that moment is fine
				t.Fatalf("rebuy %d: %+v, %v", i, rebuys[i], rebuyErrs[i])
			}
		}
		sold, held := s.counts(t)
		var paid int64
		s.db.primary.QueryRow(`SELECT COALESCE(SUM(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.status = 'paid'`).Scan(&paid)
		if sold != paid || held != 0 || sold != rebought {
			t.Fatalf("sold %d, seats of paid orders %d, held %d; the answered rebuys took %d seats (every first order was cancelled)", sold, paid, held, rebought)
		}
	})
}

// A buyer who unregisters after the event was cancelled, before its
// settlement reached their order, is refunded in full like the others,
// cutoff or not: by the whole order or ticket by ticket.
func TestUnregisteringFromACancelledEventRefundsInFull(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderManual)
		whole := s.paidOrder(t, s.attendees[0], 2)
		byTicket := s.paidOrder(t, s.attendees[1], 2)
		s.setNow(s.event.StartsAt.Add(-time.Hour))   // past the refund cutoff
		_, err := s.db.closeEvent(s.org, s.event.ID) // cancelled; its orders not settled yet
		must(t, "closeEvent", err)
		got, err := s.db.CancelOrder(s.attendees[0], whole.ID)
		must(t, "CancelOrder", err)
		if got.Status != admit.OrderCancelled || got.Refunded.Amount != 2000 {
			t.Fatalf("unregistering from a cancelled event: %s, refunded %d of 2000", got.Status, got.Refunded.Amount)
		}
		got, err = s.db.CancelTicket(s.attendees[1], byTicket.Tickets[0].ID)
		must(t, "CancelTicket", err)
		if got.Refunded.Amount != 1000 {
			t.Fatalf("cancelling one ticket of a cancelled event: refunded %d of 1000", got.Refunded.Amount)
		}
		must(t, "CancelEventOrders", s.db.CancelEventOrders(s.org, s.event.ID))
		got, err = s.db.FindOrder(s.attendees[1], byTicket.ID)
		must(t, "FindOrder", err)
		if got.Status != admit.OrderCancelled || got.Refunded.Amount != 2000 {
			t.Fatalf("after the settlement: %s, refunded %d of 2000", got.Status, got.Refunded.Amount)
		}
		if sold, held := s.counts(t); sold != 0 || held != 0 {
			t.Fatalf("sold %d held %d", sold, held)
		}
	})
}

func TestCancellingAnEventRefundsEveryone(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderManual)
		paid := s.paidOrder(t, s.attendees[0], 2)
		pending, err := s.order(s.attendees[1], 1)
		must(t, "order", err)
		s.setNow(s.event.StartsAt.Add(-time.Hour)) // past the refund cutoff: the organizer's cancel refunds anyway
		_, err = s.db.CancelEvent(s.org, s.event.ID)
		must(t, "CancelEvent", err)
		p, _ := s.db.FindOrder(s.attendees[0], paid.ID)
		q, _ := s.db.FindOrder(s.attendees[1], pending.ID)
		if p.Status != admit.OrderCancelled || p.Refunded.Amount != 2000 || q.Status != admit.OrderCancelled {
			t.Fatalf("after the event's cancellation: paid order %s refunded %d, pending order %s", p.Status, p.Refunded.Amount, q.Status)
		}
		if sold, held := s.counts(t); sold != 0 || held != 0 {
			t.Fatalf("sold %d held %d", sold, held)
		}
		if _, err := s.order(s.attendees[2], 1); admit.ErrorCode(err) != admit.ECONFLICT {
			t.Fatalf("ordering for a cancelled event: %v", err)
		}
		ev, err := s.db.FindEvent(s.attendees[2], s.event.ID)
		must(t, "FindEvent", err)
		if a := ev.TicketTypes[0].Available; a == nil || *a != 0 {
			t.Fatalf("a cancelled event's ticket type shows %v available", a)
		}
	})
}

// fast runs orders through the one-statement hold as one batch.
func (s *onsale) fast(u *admit.User, orders ...admit.NewOrder) []*fastHold {
	holds := make([]*fastHold, len(orders))
	for i, n := range orders {
		holds[i] = &fastHold{user: u, req: n, done: make(chan struct{})}
	}
	s.db.holdFast(context.Background(), holds)
	return holds
}

func (s *onsale) item(q int64) admit.NewOrder {
	return admit.NewOrder{EventID: s.event.ID, Items: []admit.NewOrderItem{{TicketTypeID: s.tt, Quantity: q}},
		Attendees: []admit.Attendee{{Name: "Named", Email: "named@example.com"}}}
}

// TestOneStatementHold checks that PostgreSQL takes the one-statement path
// for a single paid ticket type, and leaves everything else to the general
// path, which explains refusals.
func TestOneStatementHold(t *testing.T) {
	e := testenv.Engine{Name: "postgres", URL: testenv.PostgresURL(t)}
	s := newOnsale(t, e, 5, eur(1500), admit.ProviderManual)
	u := admit.UserFromContext(s.attendees[0])
	h := s.fast(u, s.item(3))[0]
	o := h.order
	if h.err != nil || o == nil || o.Total.Amount != 4500 || o.Status != admit.OrderPending || !o.ExpiresAt.Equal(testNow.Add(10*time.Minute)) {
		t.Fatalf("fast hold: %+v, %v", o, h.err)
	}
	got, err := s.db.FindOrder(s.attendees[0], o.ID)
	if err != nil || got.Total != o.Total || got.Items[0] != o.Items[0] || !got.ExpiresAt.Equal(o.ExpiresAt) {
		t.Fatalf("stored order %+v differs from the answer %+v (%v)", got, o, err)
	}
	for _, q := range []int64{3, 11, 0} { // sold out, over the maximum, nonsense
		if h := s.fast(u, s.item(q))[0]; h.order != nil || h.err != nil {
			t.Fatalf("fast hold of %d: %+v, %v; want the general path", q, h.order, h.err)
		}
	}
	var outbox, holds int
	s.db.primary.QueryRow(`SELECT COUNT(*) FROM outbox WHERE aggregate_id = $1 AND topic = 'order.pending'`, o.ID).Scan(&outbox)
	s.db.primary.QueryRow(`SELECT COUNT(*) FROM holds`).Scan(&holds)
	if _, held := s.counts(t); held != 3 || outbox != 1 || holds != 1 {
		t.Fatalf("after one fast hold and three refusals: held %d, %d outbox rows, %d holds", held, outbox, holds)
	}
	// Paid, the named attendee gets a ticket.
	paid, err := s.db.MarkPaid(s.org, o.ID)
	if err != nil || len(paid.Tickets) != 3 || paid.Tickets[0].AttendeeName+paid.Tickets[1].AttendeeName+paid.Tickets[2].AttendeeName == "" {
		t.Fatalf("paying a fast hold: %+v, %v", paid, err)
	}
}

// TestBatchedHolds: one statement holds a batch of orders together, leaves
// out an order outside the limits, and holds nothing when the batch does
// not fit.
func TestBatchedHolds(t *testing.T) {
	e := testenv.Engine{Name: "postgres", URL: testenv.PostgresURL(t)}
	s := newOnsale(t, e, 10, eur(1500), admit.ProviderManual)
	u := admit.UserFromContext(s.attendees[0])
	holds := s.fast(u, s.item(2), s.item(3), s.item(11), s.item(1))
	for i, want := range []int64{2, 3, 0, 1} {
		h := holds[i]
		if h.err != nil || (want == 0) != (h.order == nil) {
			t.Fatalf("order %d of the batch: %+v, %v", i, h.order, h.err)
		}
		if want == 0 {
			continue
		}
		if h.order.Total.Amount != 1500*want || h.order.Items[0].Quantity != want {
			t.Fatalf("order %d of the batch: %+v", i, h.order)
		}
		stored, err := s.db.FindOrder(s.attendees[0], h.order.ID)
		if err != nil || stored.Total != h.order.Total || stored.Status != admit.OrderPending {
			t.Fatalf("order %d as stored: %+v, %v", i, stored, err)
		}
	}
	if _, held := s.counts(t); held != 6 {
		t.Fatalf("held %d after a batch of 2 + 3 + 1 seats, want 6", held)
	}
	var outbox int
	s.db.primary.QueryRow(`SELECT COUNT(*) FROM outbox WHERE topic = 'order.pending'`).Scan(&outbox)
	if outbox != 3 {
		t.Fatalf("%d outbox rows after a batch of 3 orders", outbox)
	}
	// 4 seats left: a batch of 3 + 2 does not fit and holds nothing.
	for i, h := range s.fast(u, s.item(3), s.item(2)) {
		if h.order != nil || h.err != nil {
			t.Fatalf("order %d of a batch that does not fit: %+v, %v", i, h.order, h.err)
		}
	}
	if _, held := s.counts(t); held != 6 {
		t.Fatalf("held %d after a batch that did not fit, want 6", held)
	}
}

// TestQueuedHoldsWithBuyersLeaving: while the ticket type's row is locked,
// orders queue for it; buyers who hang up while waiting in line leave it
// and hold nothing, the others' orders are all held once the row is free,
// and the queue forgets the ticket type afterwards.
func TestQueuedHoldsWithBuyersLeaving(t *testing.T) {
	e := testenv.Engine{Name: "postgres", URL: testenv.PostgresURL(t)}
	s := newOnsale(t, e, 1000, eur(1500), admit.ProviderManual)
	lock, err := s.db.primary.Begin()
	must(t, "begin", err)
	_, err = lock.Exec(`SELECT 1 FROM ticket_types WHERE id = $1 FOR UPDATE`, s.tt)
	must(t, "lock the row", err)

	const buyers = 100 // more than the two batches stuck on the lock can take
	leave, hangUp := context.WithCancel(context.Background())
	orders := make([]*admit.Order, buyers)
	errs := make([]error, buyers)
	var wg sync.WaitGroup
	for i := range buyers {
		ctx := s.attendees[i%len(s.attendees)]
		if i%2 == 1 {
			ctx = contextWithCancelOf(ctx, leave)
		}
		wg.Go(func() { orders[i], errs[i] = s.order(ctx, int64(1+i%3)) })
	}
	// Everyone is in line or in a batch stuck on the lock; then half hang up.
	for s.db.onsale.queued() < buyers-hotRowWriters*maxBatch {
		runtime.Gosched()
	}
	hangUp()
	must(t, "unlock the row", lock.Commit())
	wg.Wait()

	var seats int64
	left := 0
	for i := range buyers {
		switch {
		case errs[i] == nil && orders[i] != nil:
			seats += orders[i].Items[0].Quantity
		case errors.Is(errs[i], context.Canceled) && i%2 == 1:
			left++
		default:
			t.Fatalf("buyer %d: %+v, %v", i, orders[i], errs[i])
		}
	}
	if _, held := s.counts(t); held != seats {
		t.Fatalf("held %d seats, but the answered orders have %d", held, seats)
	}
	if left == 0 {
		t.Fatal("no buyer left the line: the test did not exercise leaving")
	}
	// The last batch's runner forgets the line just after answering (a
	// line kept for ever hangs here until go test's timeout).
	for s.db.onsale.lineCount() != 0 {
		runtime.Gosched()
	}
}

// contextWithCancelOf is ctx, cancelled too when other is.
func contextWithCancelOf(ctx, other context.Context) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	context.AfterFunc(other, cancel)
	return ctx
}

// queued is how many orders wait in the queue's lines.
func (q *onsaleQueue) queued() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, l := range q.lines {
		n += len(l.waiting)
	}
	return n
}

func (q *onsaleQueue) lineCount() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.lines)
}

// TestListMyOrders: a buyer's orders, newest first, in pages, each with its
// items and tickets and a lapsed hold shown as expired; nobody else's.
func TestListMyOrders(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 100, eur(1500), admit.ProviderManual)
		buyer, other := s.attendees[0], s.attendees[1]
		var mine []*admit.Order
		for q := range int64(3) {
			s.setNow(testNow.Add(time.Duration(q) * time.Minute)) // distinct creation times
			o, err := s.order(buyer, q+1)
			must(t, "order", err)
			mine = append(mine, o)
		}
		_, err := s.order(other, 4)
		must(t, "other's order", err)
		_, err = s.db.MarkPaid(s.org, mine[1].ID)
		must(t, "mark paid", err)
		s.setNow(testNow.Add(10*time.Minute + 30*time.Second)) // the first hold lapsed, the last not yet

		var got []admit.Order
		page := admit.Page{Limit: 2}
		for {
			orders, next, err := s.db.ListMyOrders(buyer, page)
			must(t, "ListMyOrders", err)
			got = append(got, orders...)
			if next == "" {
				break
			}
			page.Cursor = cursorOf(t, next, "created")
		}
		want := []struct {
			id      string
			status  admit.OrderStatus
			seats   int64
			tickets int
		}{{mine[2].ID, admit.OrderPending, 3, 0}, {mine[1].ID, admit.OrderPaid, 2, 2}, {mine[0].ID, admit.OrderExpired, 1, 0}}
		if len(got) != len(want) {
			t.Fatalf("got %d orders, want %d", len(got), len(want))
		}
		for i, w := range want {
			o := got[i]
			if o.ID != w.id || o.Status != w.status || len(o.Items) != 1 || o.Items[0].Quantity != w.seats ||
				o.Items[0].UnitPrice != eur(1500) || len(o.Tickets) != w.tickets {
				t.Errorf("order %d: %s %s items %+v, %d tickets; want %s %s, %d seats, %d tickets",
					i, o.ID, o.Status, o.Items, len(o.Tickets), w.id, w.status, w.seats, w.tickets)
			}
			for _, tk := range o.Tickets {
				if tk.OrderID != o.ID {
					t.Errorf("order %s lists ticket %s of order %s", o.ID, tk.ID, tk.OrderID)
				}
			}
		}
	})
}

// TestLapsedHoldsAndTheFastPath: the one-statement hold sweeps nothing, so
// a refused batch leaves lapsed holds (and their count) as they were, found
// by review: an earlier version swept them and lost their seats for good
// when the batch did not fit. An order that fits only once lapsed holds are
// swept gets its seats through the general path.
func TestLapsedHoldsAndTheFastPath(t *testing.T) {
	e := testenv.Engine{Name: "postgres", URL: testenv.PostgresURL(t)}
	s := newOnsale(t, e, 10, eur(1500), admit.ProviderManual)
	u := admit.UserFromContext(s.attendees[0])
	if h := s.fast(u, s.item(5))[0]; h.order == nil || h.err != nil {
		t.Fatalf("first hold: %+v, %v", h.order, h.err)
	}
	s.setNow(testNow.Add(11 * time.Minute)) // the hold lapsed
	for _, h := range s.fast(u, s.item(6), s.item(6)) {
		if h.order != nil || h.err != nil {
			t.Fatalf("a batch of 12 seats out of 10: %+v, %v", h.order, h.err)
		}
	}
	if _, held := s.counts(t); held != 5 { // counts also checks held against the hold rows
		t.Fatalf("held %d after a refused batch, want the lapsed hold's 5 (not yet swept)", held)
	}
	o, err := s.order(s.attendees[1], 10)
	if err != nil || o.Status != admit.OrderPending {
		t.Fatalf("all 10 seats are free once the lapsed hold is swept, but an order of 10 got %+v, %v", o, err)
	}
	if _, held := s.counts(t); held != 10 {
		t.Fatalf("held %d after the order of 10", held)
	}
}

// TestFailedBatch: when PostgreSQL refuses a batch's statement (here: the
// row stays locked past lock_timeout), its orders take the general path
// instead of all failing; when the outcome is unknown (the context ended),
// each gets the error. Neither holds a seat.
func TestFailedBatch(t *testing.T) {
	e := testenv.Engine{Name: "postgres", URL: testenv.PostgresURL(t)}
	s := newOnsale(t, e, 10, eur(1500), admit.ProviderManual)
	u := admit.UserFromContext(s.attendees[0])
	impatientURL, err := url.Parse(e.URL)
	must(t, "parse URL", err)
	q := impatientURL.Query()
	q.Set("lock_timeout", "100ms")
	impatientURL.RawQuery = q.Encode()
	impatient := openDB(t, Config{URL: impatientURL.String()})

	lock, err := s.db.primary.Begin()
	must(t, "begin", err)
	_, err = lock.Exec(`SELECT 1 FROM ticket_types WHERE id = $1 FOR UPDATE`, s.tt)
	must(t, "lock the row", err)
	refused := []*fastHold{{user: u, req: s.item(1), done: make(chan struct{})}, {user: u, req: s.item(2), done: make(chan struct{})}}
	impatient.holdFast(context.Background(), refused)
	must(t, "unlock the row", lock.Commit())
	for i, h := range refused {
		if h.order != nil || h.err != nil {
			t.Fatalf("order %d of a refused batch: %+v, %v; want the general path", i, h.order, h.err)
		}
	}

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	unknown := []*fastHold{{user: u, req: s.item(1), done: make(chan struct{})}}
	s.db.holdFast(cancelled, unknown)
	if h := unknown[0]; h.order != nil || !errors.Is(h.err, context.Canceled) {
		t.Fatalf("a batch whose context ended: %+v, %v; want the context's error", h.order, h.err)
	}
	// A batch that timed out may yet commit: a 503 that says so, not a 500.
	expired, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	timedOut := []*fastHold{{user: u, req: s.item(1), done: make(chan struct{})}}
	s.db.holdFast(expired, timedOut)
	if h := timedOut[0]; h.order != nil || admit.ErrorCode(h.err) != admit.EUNAVAILABLE || !strings.Contains(admit.ErrorMessage(h.err), "Idempotency-Key") {
		t.Fatalf("a batch that timed out: %+v, %v; want unavailable, retry under the key", h.order, h.err)
	}
	if _, held := s.counts(t); held != 0 {
		t.Fatalf("held %d after two failed batches", held)
	}
}

// TestLapsedHoldsAreAvailable: a hold past its expiry counts as free at
// once wherever availability is shown, before any sweep.
func TestLapsedHoldsAreAvailable(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1500), admit.ProviderManual)
		_, err := s.order(s.attendees[0], 4)
		must(t, "order", err)
		available := func(what string, tt admit.TicketType, want int64) {
			t.Helper()
			if tt.Available == nil || *tt.Available != want {
				t.Fatalf("%s: available %v, want %d", what, tt.Available, want)
			}
		}
		ev, err := s.db.FindEvent(s.org, s.event.ID)
		must(t, "FindEvent", err)
		available("FindEvent with a live hold", ev.TicketTypes[0], 6)

		s.setNow(testNow.Add(11 * time.Minute)) // the hold lapsed, nothing swept it
		ev, err = s.db.FindEvent(s.org, s.event.ID)
		must(t, "FindEvent", err)
		available("FindEvent after the hold lapsed", ev.TicketTypes[0], 10)
		name := "Renamed"
		tt, err := s.db.UpdateTicketType(s.org, s.event.ID, s.tt, admit.TicketTypeUpdate{Name: &name})
		must(t, "UpdateTicketType", err)
		available("UpdateTicketType after the hold lapsed", *tt, 10)
	})
}

// cancelWhile runs work on workers goroutines, each until work returns
// false; once it has returned true n times in all, it cancels s's event,
// waits for the workers and returns the cancellation's error. Workers that
// all stop early fail the test (their errors say why) rather than hang it.
func cancelWhile(t *testing.T, s *onsale, workers, n int, work func(worker int) bool) error {
	t.Helper()
	var wg sync.WaitGroup
	done := make(chan struct{}, n)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for work(i) {
				select {
				case done <- struct{}{}:
				default:
				}
			}
		}()
	}
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	for range n {
		select {
		case <-done:
		case <-stopped:
			t.FailNow()
		}
	}
	_, err := s.db.CancelEvent(s.org, s.event.ID)
	wg.Wait()
	return err
}

// An organizer cancels an event while buyers keep ordering: every order
// that got an answer is cancelled with the others, whichever committed
// first, and no seat stays taken.
func TestCancellingAnEventRacingOrders(t *testing.T) {
	for name, price := range map[string]admit.Money{"held": eur(1000), "free": eur(0)} {
		t.Run(name, func(t *testing.T) {
			forEachEngine(t, func(t *testing.T, e testenv.Engine) {
				s := newOnsale(t, e, 100000, price, admit.ProviderManual)
				var answered sync.Map
				err := cancelWhile(t, s, 16, 32, func(i int) bool {
					o, err := s.order(s.attendees[i%len(s.attendees)], 1)
					if err != nil {
						var ae *admit.Error
						if !errors.As(err, &ae) || ae.Kind != "event-cancelled" {
							t.Errorf("order: %v", err)
						}
						return false
					}
					answered.Store(o.ID, o.Status)
					return true
				})
				must(t, "CancelEvent", err)
				n := 0
				answered.Range(func(id, _ any) bool {
					n++
					o, err := s.db.FindOrder(s.admin, id.(string))
					if err != nil || o.Status != admit.OrderCancelled {
						t.Errorf("order %s outlived its event's cancellation: %+v, %v", id, o, err)
						return false
					}
					return true
				})
				var live int
				s.db.primary.QueryRow(`SELECT COUNT(*) FROM orders WHERE status IN ('pending', 'paid')`).Scan(&live)
				if sold, held := s.counts(t); sold != 0 || held != 0 || live != 0 || n < 32 {
					t.Fatalf("after cancelling the event: sold %d, held %d, %d live orders (%d answered)", sold, held, live, n)
				}
			})
		})
	}
}

// A Stripe payment that arrives after the organizer cancelled the event
// must not buy seats of the cancelled event: the order fails and the
// money goes back.
func TestPaymentAfterTheEventIsCancelled(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1500), admit.ProviderStripe)
		o, err := s.order(s.attendees[0], 2)
		must(t, "order", err)
		_, err = s.db.CancelEvent(s.org, s.event.ID)
		must(t, "CancelEvent", err)
		got, err := s.db.ConfirmPayment(s.admin, Payment{Provider: admit.ProviderStripe, NoticeID: "evt_late", OrderID: o.ID, Ref: "pi_late"})
		must(t, "ConfirmPayment", err)
		if got.Status != admit.OrderFailed || len(got.Tickets) != 0 || got.Refunded.Amount != 3000 {
			t.Fatalf("payment after the cancellation: %s with %d tickets, refunded %d", got.Status, len(got.Tickets), got.Refunded.Amount)
		}
		var refunds int
		s.db.primary.QueryRow(`SELECT COUNT(*) FROM refunds WHERE order_id = $1 AND amount = 3000`, o.ID).Scan(&refunds)
		if sold, held := s.counts(t); sold != 0 || held != 0 || refunds != 1 {
			t.Fatalf("sold %d held %d, %d refunds", sold, held, refunds)
		}
	})
}

// Organizers lower a ticket type's quantity while buyers order: each edit
// either fits what is sold and held at that instant or is refused, and the
// inventory rule holds throughout.
func TestQuantityEditsRacingOrders(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 200, eur(1000), admit.ProviderManual)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if i%10 == 0 {
					q := int64(200 - i/2)
					_, err := s.db.UpdateTicketType(s.org, s.event.ID, s.tt, admit.TicketTypeUpdate{Quantity: &q})
					if err != nil && admit.ErrorCode(err) != admit.EINVALID {
						t.Errorf("lowering the quantity to %d: %v", q, err)
					}
					return
				}
				_, err := s.order(s.attendees[i%len(s.attendees)], int64(i%2+1))
				if err != nil && admit.ErrorCode(err) != admit.ECONFLICT {
					t.Errorf("order: %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		s.counts(t) // fails on sold + held > quantity
	})
}

// The database refuses any write that would oversell, whatever the code
// that sends it.
func TestTheDatabaseRefusesOverselling(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderManual)
		for _, set := range []string{"held = 11", "sold = 6, held = 5", "quantity = 0, sold = 1"} {
			if _, err := s.db.primary.Exec(`UPDATE ticket_types SET `+set+` WHERE id = $1`, s.tt); err == nil {
				t.Errorf("SET %s was accepted", set)
			}
		}
		if _, err := s.db.primary.Exec(`UPDATE ticket_types SET sold = 4, held = 6 WHERE id = $1`, s.tt); err != nil {
			t.Fatalf("filling the ticket type exactly: %v", err)
		}
	})
}

// A process that dies between cancelling an event and settling its orders
// leaves an event.cancelled outbox row; its handler settles them, once.
func TestAnInterruptedEventCancellationIsFinished(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderManual)
		paid := s.paidOrder(t, s.attendees[0], 2)
		pending, err := s.order(s.attendees[1], 1)
		must(t, "order", err)
		if err := s.db.CancelEventOrders(s.admin, s.event.ID); err == nil {
			t.Fatal("CancelEventOrders settled the orders of a published event")
		}
		if sold, held := s.counts(t); sold != 2 || held != 1 {
			t.Fatalf("the orders of a published event were settled: sold %d held %d", sold, held)
		}

		_, err = s.db.closeEvent(s.org, s.event.ID) // and the process dies
		must(t, "closeEvent", err)
		var rows int
		s.db.primary.QueryRow(`SELECT COUNT(*) FROM outbox WHERE topic = 'event.cancelled' AND aggregate_id = $1`, s.event.ID).Scan(&rows)
		if rows != 1 {
			t.Fatalf("%d event.cancelled outbox rows", rows)
		}
		msgs, err := s.db.ClaimOutbox(s.admin, 100, time.Minute)
		must(t, "ClaimOutbox", err)
		i := slices.IndexFunc(msgs, func(m OutboxMessage) bool { return m.Topic == "event.cancelled" })
		if i < 0 {
			t.Fatalf("no event.cancelled message among %d", len(msgs))
		}
		for range 2 { // delivered at least once
			must(t, "EventCancelled", s.db.EventCancelled(s.admin, msgs[i]))
		}
		p, _ := s.db.FindOrder(s.admin, paid.ID)
		q, _ := s.db.FindOrder(s.admin, pending.ID)
		var refunds int
		s.db.primary.QueryRow(`SELECT COUNT(*) FROM refunds WHERE order_id = $1`, paid.ID).Scan(&refunds)
		if p.Status != admit.OrderCancelled || p.Refunded.Amount != 2000 || refunds != 1 || q.Status != admit.OrderCancelled {
			t.Fatalf("after the handler: paid order %s refunded %d in %d refunds, pending order %s", p.Status, p.Refunded.Amount, refunds, q.Status)
		}
		if sold, held := s.counts(t); sold != 0 || held != 0 {
			t.Fatalf("sold %d held %d", sold, held)
		}
	})
}

// A cancelled order stays cancelled: an organizer cannot mark it paid; a
// payment that arrives for a released order is refunded, and one for an
// order paid (and refunded) before changes nothing.
func TestACancelledOrderStaysCancelled(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderManual)
		released, err := s.order(s.attendees[0], 1)
		must(t, "order", err)
		_, err = s.db.ReleaseOrder(s.attendees[0], released.ID)
		must(t, "ReleaseOrder", err)
		refunded := s.paidOrder(t, s.attendees[1], 2)
		_, err = s.db.CancelOrder(s.attendees[1], refunded.ID)
		must(t, "CancelOrder", err)
		for _, id := range []string{released.ID, refunded.ID} {
			_, err := s.db.MarkPaid(s.org, id)
			wantCode(t, "marking a cancelled order paid", err, admit.ECONFLICT)
			// A payment started as it was released is not recorded on it.
			wantCode(t, "recording a payment of a cancelled order", s.db.SetPayment(s.admin, id, "pi_late", "pi_late_secret"), admit.ECONFLICT)
		}
		again, err := s.db.ConfirmPayment(s.admin, Payment{Provider: admit.ProviderManual, NoticeID: "evt_again", OrderID: refunded.ID})
		must(t, "payment of a paid, then cancelled order", err)
		if again.Status != admit.OrderCancelled || again.Refunded.Amount != 2000 {
			t.Fatalf("paid, cancelled, then paid again: %s refunded %d", again.Status, again.Refunded.Amount)
		}
		late, err := s.db.ConfirmPayment(s.admin, Payment{Provider: admit.ProviderManual, NoticeID: "evt_late", OrderID: released.ID})
		must(t, "payment of a released order", err)
		if late.Status != admit.OrderFailed || late.Refunded.Amount != 1000 || len(late.Tickets) != 0 {
			t.Fatalf("payment of a released order: %s refunded %d with %d tickets", late.Status, late.Refunded.Amount, len(late.Tickets))
		}
		if sold, held := s.counts(t); sold != 0 || held != 0 {
			t.Fatalf("sold %d held %d", sold, held)
		}
	})
}

// The attendees an order names get its tickets in the order asked, item by
// item as the items were given, whether the tickets are issued at once or
// on payment; reading the order back keeps that order.
func TestTicketsFollowTheAttendeesInOrder(t *testing.T) {
	for _, price := range []int64{0, 1000} {
		t.Run(fmt.Sprint("price ", price), func(t *testing.T) {
			forEachEngine(t, func(t *testing.T, e testenv.Engine) {
				s := newOnsale(t, e, 10, eur(price), admit.ProviderManual)
				other := &admit.TicketType{EventID: s.event.ID, Name: "Other", Price: eur(price), Quantity: 10}
				must(t, "CreateTicketType", s.db.CreateTicketType(s.org, other))
				first, second := max(s.tt, other.ID), min(s.tt, other.ID) // against the ids' order
				names := []string{"Ada", "Grace", "Edsger", "Barbara"}
				var attendees []admit.Attendee
				for _, n := range names {
					attendees = append(attendees, admit.Attendee{Name: n, Email: strings.ToLower(n) + "@example.com"})
				}
				o, err := s.db.CreateOrder(s.attendees[0], admit.NewOrder{EventID: s.event.ID, Attendees: attendees,
					Items: []admit.NewOrderItem{{TicketTypeID: first, Quantity: 1}, {TicketTypeID: second, Quantity: 3}}})
				must(t, "order", err)
				if price > 0 {
					_, err := s.db.MarkPaid(s.org, o.ID)
					must(t, "MarkPaid", err)
				}
				got, err := s.db.FindOrder(s.attendees[0], o.ID)
				must(t, "FindOrder", err)
				if len(got.Items) != 2 || got.Items[0].TicketTypeID != first || len(got.Tickets) != 4 {
					t.Fatalf("price %d: items %+v, %d tickets", price, got.Items, len(got.Tickets))
				}
				for i, tk := range got.Tickets {
					wantType := second
					if i == 0 {
						wantType = first
					}
					if tk.AttendeeName != names[i] || tk.TicketTypeID != wantType {
						t.Fatalf("price %d: ticket %d is %s's of %s, want %s's of %s", price, i, tk.AttendeeName, tk.TicketTypeID, names[i], wantType)
					}
				}

				// The lists keep that order, one page at a time, order by order.
				o2, err := s.db.CreateOrder(s.attendees[1], admit.NewOrder{EventID: s.event.ID,
					Attendees: []admit.Attendee{{Name: "Xavier", Email: "x@example.com"}, {Name: "Yolanda", Email: "y@example.com"}},
					Items:     []admit.NewOrderItem{{TicketTypeID: second, Quantity: 2}}})
				must(t, "second order", err)
				if price > 0 {
					_, err := s.db.MarkPaid(s.org, o2.ID)
					must(t, "MarkPaid", err)
				}
				theirs := []string{"Xavier", "Yolanda"}
				everyone := [][]string{slices.Concat(names, theirs), slices.Concat(theirs, names)}
				var mine []string
				page := admit.Page{Limit: 1}
				for {
					tickets, next, err := s.db.ListMyTickets(s.attendees[0], page)
					must(t, "ListMyTickets", err)
					for _, tk := range tickets {
						mine = append(mine, tk.AttendeeName)
					}
					if next == "" {
						break
					}
					page.Cursor = cursorOf(t, next, admit.TicketSort)
				}
				var listed, streamed []string
				page = admit.Page{Limit: 1}
				for {
					rs, next, err := s.db.ListRegistrants(s.org, s.event.ID, page)
					must(t, "ListRegistrants", err)
					for _, r := range rs {
						listed = append(listed, r.AttendeeName)
					}
					if next == "" {
						break
					}
					page.Cursor = cursorOf(t, next, admit.TicketSort)
				}
				bogus := admit.Page{Limit: 1, Cursor: &admit.Cursor{Sort: admit.TicketSort, ID: "tix_nothing"}}
				_, _, err = s.db.ListRegistrants(s.org, s.event.ID, bogus)
				wantCode(t, "a cursor naming no ticket", err, admit.EINVALID)
				_, _, err = s.db.ListMyTickets(s.attendees[0], bogus)
				wantCode(t, "a cursor naming no ticket", err, admit.EINVALID)
				s.db.exportPage = 2 // the export pages too, across orders
				must(t, "EachRegistrant", s.db.EachRegistrant(s.org, s.event.ID, func(r admit.Registrant) error {
					streamed = append(streamed, r.AttendeeName)
					return nil
				}))
				if !slices.Equal(mine, names) {
					t.Errorf("price %d: my tickets %v, want %v", price, mine, names)
				}
				for what, got := range map[string][]string{"registrants": listed, "CSV": streamed} {
					if !slices.Equal(got, everyone[0]) && !slices.Equal(got, everyone[1]) {
						t.Errorf("price %d: %s %v, want one of %v", price, what, got, everyone)
					}
				}
			})
		})
	}
}

// The moment a cancellation has closed an event's ticket types, before
// every order is settled: nothing takes seats any more, on either path,
// and a payment for a held order is refunded instead of issuing tickets.
func TestClosedTicketTypesSellNothing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderManual)
		lapsed, err := s.order(s.attendees[1], 1)
		must(t, "order", err)
		s.setNow(lapsed.ExpiresAt)
		n, err := s.db.ExpireOrders(s.admin, 10)
		if err != nil || n != 1 {
			t.Fatalf("ExpireOrders: %d, %v", n, err)
		}
		s.setNow(testNow)
		held, err := s.order(s.attendees[0], 2) // held, unexpired
		must(t, "order", err)

		// As the cancelling transaction leaves them: closed, the event's
		// status not yet seen by a statement that started before.
		f := s.fixture
		f.exec(t, `UPDATE ticket_types SET closed_at = $2 WHERE id = $1`, s.tt, ts(testNow))
		var ae *admit.Error
		if _, err := s.order(s.attendees[2], 1); !errors.As(err, &ae) || ae.Kind != "event-cancelled" {
			t.Fatalf("ordering from a closed ticket type: %v", err)
		}
		if e.Name == "postgres" {
			if h := s.fast(admit.UserFromContext(s.attendees[2]), s.item(1))[0]; h.order != nil || h.err != nil {
				t.Fatalf("the one-statement hold took a closed ticket type's seat: %+v, %v", h.order, h.err)
			}
		}
		for _, o := range []*admit.Order{held, lapsed} {
			got, err := s.db.MarkPaid(s.org, o.ID)
			must(t, "MarkPaid", err)
			var reason string
			s.db.primary.QueryRow(`SELECT payload FROM outbox WHERE aggregate_id = $1 AND topic = 'order.failed'`, o.ID).Scan(&reason)
			if got.Status != admit.OrderFailed || len(got.Tickets) != 0 || got.Refunded != got.Total || !strings.Contains(reason, "the event is cancelled") {
				t.Fatalf("paying order %s of a closed ticket type: %s, %d tickets, refunded %d of %d, outbox %q",
					o.Status, got.Status, len(got.Tickets), got.Refunded.Amount, got.Total.Amount, reason)
			}
		}
		if sold, held := s.counts(t); sold != 0 || held != 0 {
			t.Fatalf("sold %d held %d", sold, held)
		}
	})
}

// Two organizers cancel the same event at once: one cancellation happens,
// the other is told it already did.
func TestCancellingAnEventTwiceAtOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderManual)
		errs := make(chan error, 2)
		start := make(chan struct{})
		for range 2 {
			go func() {
				<-start
				_, err := s.db.CancelEvent(s.org, s.event.ID)
				errs <- err
			}()
		}
		close(start)
		var ok, conflicts int
		for range 2 {
			switch err := <-errs; admit.ErrorCode(err) {
			case admit.ECONFLICT:
				conflicts++
			default:
				if err != nil {
					t.Fatalf("CancelEvent: %v", err)
				}
				ok++
			}
		}
		var rows int
		s.db.primary.QueryRow(`SELECT COUNT(*) FROM outbox WHERE topic = 'event.cancelled' AND aggregate_id = $1`, s.event.ID).Scan(&rows)
		if ok != 1 || conflicts != 1 || rows != 1 {
			t.Fatalf("%d cancellations, %d conflicts, %d event.cancelled rows; want 1 each", ok, conflicts, rows)
		}
	})
}

// Organizers add ticket types while another cancels the event: every one
// added is closed with the others, or refused; none stays on sale.
func TestTicketTypesAddedDuringACancellation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderManual)
		var n atomic.Int64
		err := cancelWhile(t, s, 4, 8, func(i int) bool {
			tt := &admit.TicketType{EventID: s.event.ID, Name: fmt.Sprintf("Extra %d.%d", i, n.Add(1)), Price: eur(500), Quantity: 5}
			err := s.db.CreateTicketType(s.org, tt)
			if err != nil && admit.ErrorCode(err) != admit.ECONFLICT { // ECONFLICT: the event is cancelled
				t.Errorf("CreateTicketType: %v", err)
			}
			return err == nil
		})
		must(t, "CancelEvent", err)
		var open, all int
		s.db.primary.QueryRow(`SELECT COUNT(*) FROM ticket_types WHERE event_id = $1 AND closed_at IS NULL`, s.event.ID).Scan(&open)
		s.db.primary.QueryRow(`SELECT COUNT(*) FROM ticket_types WHERE event_id = $1`, s.event.ID).Scan(&all)
		if open != 0 || all < 9 {
			t.Fatalf("%d of the event's %d ticket types are still open after its cancellation", open, all)
		}
	})
}

// An organizer deletes a fresh event while its first buyers order: either
// the deletion wins and no order was answered, or an order wins and the
// deletion is refused. An order that commits while the deletion counts the
// event's orders must not end up pointing at nothing.
func TestDeletingAnEventRacingItsFirstOrders(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 1000, eur(1000), admit.ProviderManual)
		venue := &admit.Location{ID: s.event.LocationID, CityID: s.event.CityID}
		deleted := 0
		for round := range 20 {
			ev := s.newEvent(t, s.org, eventSpec{title: fmt.Sprintf("Round %d", round), loc: venue, start: s.event.StartsAt, prices: []admit.Money{eur(1000)}})
			tt := ev.TicketTypes[0]

			start := make(chan struct{})
			var wg sync.WaitGroup
			var answered atomic.Int64
			for i := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := s.db.CreateOrder(s.attendees[i], admit.NewOrder{EventID: ev.ID, Items: []admit.NewOrderItem{{TicketTypeID: tt.ID, Quantity: 1}}})
					if err == nil {
						answered.Add(1)
					}
				}()
			}
			close(start)
			err := s.db.DeleteEvent(s.org, ev.ID)
			wg.Wait()
			orders := s.number(t, `SELECT COUNT(*) FROM orders WHERE event_id = $1`, ev.ID)
			switch {
			case err == nil:
				deleted++
				if orders != 0 || answered.Load() != 0 {
					t.Fatalf("round %d: the event was deleted, yet %d orders were answered and %d rows point at it", round, answered.Load(), orders)
				}
			case admit.ErrorCode(err) == admit.ECONFLICT:
				if int64(orders) != answered.Load() {
					t.Fatalf("round %d: deletion refused; %d orders answered, %d stored", round, answered.Load(), orders)
				}
			default:
				t.Fatalf("round %d: DeleteEvent: %v", round, err)
			}
		}
		t.Logf("%s: the deletion won %d of 20 rounds", e.Name, deleted)
	})
}

// An export whose client stops reading holds no lock and no connection:
// orders go on while exports are stalled mid-stream, and another export
// runs to its end meanwhile.
func TestStalledExportsLeaveOrdersFlowing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 100, eur(1000), admit.ProviderManual)
		s.paidOrder(t, s.attendees[0], 3)
		s.db.exportPage = 2 // stalled between pages as well as within one
		release := make(chan struct{})
		var once sync.Once
		free := func() { once.Do(func() { close(release) }) }
		defer free() // also when the test fails: a stalled export would keep the database from closing
		// The deadline only keeps a broken build from hanging the suite.
		ctx, cancel := context.WithTimeout(s.org, 10*time.Second)
		defer cancel()
		const stalled = 8 // more than either engine's pool of connections
		streaming := make(chan struct{}, stalled)
		errs := make(chan error, stalled)
		for range stalled {
			go func() {
				first := true
				errs <- s.db.EachRegistrant(ctx, s.event.ID, func(admit.Registrant) error {
					if first {
						first = false
						streaming <- struct{}{}
						<-release // the client stops reading
					}
					return nil
				})
			}()
		}
		for range stalled {
			select {
			case <-streaming:
			case err := <-errs:
				t.Fatalf("an export ended before streaming, while others were stalled: %v", err)
			}
		}
		buyer := admit.NewContextWithUser(ctx, admit.UserFromContext(s.attendees[1]))
		for i := range 3 {
			if _, err := s.db.CreateOrder(buyer, admit.NewOrder{EventID: s.event.ID, Items: []admit.NewOrderItem{{TicketTypeID: s.tt, Quantity: 1}}}); err != nil {
				t.Fatalf("order %d during stalled exports: %v", i, err)
			}
		}
		var rows int
		must(t, "an export beside the stalled ones", s.db.EachRegistrant(ctx, s.event.ID, func(admit.Registrant) error { rows++; return nil }))
		if rows != 3 {
			t.Fatalf("the export beside the stalled ones streamed %d rows, want the 3 tickets", rows)
		}
		free()
		for range stalled {
			must(t, "stalled export", <-errs)
		}
	})
}

// An order placed under a request key (an Idempotency-Key and its request)
// is placed once: a retry, or attempts racing each other, get that order
// back, whether the first attempt's answer was lost or it is still running.
// Another key, or another buyer, places another order; so does the key
// once it is forgotten.
func TestARequestKeyPlacesOneOrder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 100, eur(1000), admit.ProviderManual)
		free := &admit.TicketType{EventID: s.event.ID, Name: "Free", Price: eur(0), Quantity: 100}
		must(t, "CreateTicketType", s.db.CreateTicketType(s.org, free))
		for _, tt := range []string{s.tt, free.ID} { // held (the batch path on PostgreSQL), and paid at once
			req := admit.NewOrder{EventID: s.event.ID, Items: []admit.NewOrderItem{{TicketTypeID: tt, Quantity: 2}}}
			keyed := admit.NewContextWithRequestKey(s.attendees[0], "rk-"+tt)
			first, err := s.db.CreateOrder(keyed, req)
			must(t, "CreateOrder", err)
			ids := make([]string, 8)
			var wg sync.WaitGroup
			for i := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					o, err := s.db.CreateOrder(keyed, req)
					if err != nil {
						t.Errorf("retry %d: %v", i, err)
						return
					}
					ids[i] = o.ID
				}()
			}
			wg.Wait()
			for i, id := range ids {
				if id != first.ID {
					t.Fatalf("retry %d placed order %s, want the first attempt's %s", i, id, first.ID)
				}
			}
			other, err := s.db.CreateOrder(admit.NewContextWithRequestKey(s.attendees[0], "rk-other-"+tt), req)
			must(t, "CreateOrder(another key)", err)
			stranger, err := s.db.CreateOrder(admit.NewContextWithRequestKey(s.attendees[1], "rk-"+tt), req)
			must(t, "CreateOrder(another buyer)", err)
			if other.ID == first.ID || stranger.ID == first.ID {
				t.Fatalf("another key or buyer got the first order back")
			}
		}
		orders := s.number(t, `SELECT COUNT(*) FROM orders`)
		if _, held := s.counts(t); orders != 6 || held != 6 {
			t.Fatalf("%d orders holding %d seats, want 6 orders of 2 seats: 3 held, 3 free", orders, held)
		}
		if freeSold := s.number(t, `SELECT sold FROM ticket_types WHERE id = $1`, free.ID); freeSold != 6 {
			t.Fatalf("free seats sold %d, want 6 (3 orders of 2)", freeSold)
		}
		// Forgotten after a day, with the key: the same key is a new request.
		_, err := s.db.SweepIdempotencyKeys(s.attendees[0], testNow.Add(time.Second))
		must(t, "SweepIdempotencyKeys", err)
		again, err := s.db.CreateOrder(admit.NewContextWithRequestKey(s.attendees[0], "rk-"+s.tt),
			admit.NewOrder{EventID: s.event.ID, Items: []admit.NewOrderItem{{TicketTypeID: s.tt, Quantity: 1}}})
		must(t, "CreateOrder after the sweep", err)
		if again.Items[0].Quantity != 1 {
			t.Fatalf("a forgotten key got back an old order: %+v", again)
		}
	})
}

// A retry gets the order its first attempt placed even when the sale has
// changed since (here the event was cancelled): it is told what became of
// that order, not that it cannot order. An order abandoned because its
// payment could not start is not given back: the retry places a new one.
func TestARetryGetsItsFirstAttemptsOrder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderManual)
		keyed := admit.NewContextWithRequestKey(s.attendees[0], "rk-abandoned")
		abandoned, err := s.order(keyed, 2)
		must(t, "order", err)
		_, err = s.db.AbandonOrder(s.admin, abandoned.ID)
		must(t, "AbandonOrder", err)
		again, err := s.order(keyed, 2)
		must(t, "retry of an abandoned order", err)
		if again.ID == abandoned.ID || again.Status != admit.OrderPending {
			t.Fatalf("the retry of an abandoned order got %s (%s), want a new pending order", again.ID, again.Status)
		}
		if _, held := s.counts(t); held != 2 {
			t.Fatalf("held %d, want the 2 of the new order only", held)
		}
		_, err = s.db.closeEvent(s.org, s.event.ID)
		must(t, "closeEvent", err)
		late, err := s.order(keyed, 2)
		must(t, "retry after the event closed", err)
		if late.ID != again.ID {
			t.Fatalf("a retry after the event closed got %s, want its first attempt's %s", late.ID, again.ID)
		}
	})
}

// A lapsed hold does not count against a smaller quantity, even before the
// sweeper got to it; a live hold and sold seats do.
func TestQuantityDropsBelowLapsedHolds(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := newOnsale(t, e, 10, eur(1000), admit.ProviderManual)
		s.paidOrder(t, s.attendees[0], 2)
		_, err := s.order(s.attendees[1], 5)
		must(t, "order", err)
		_, err = s.db.UpdateTicketType(s.org, s.event.ID, s.tt, admit.TicketTypeUpdate{Quantity: new(int64(6))})
		wantCode(t, "dropping below a live hold", err, admit.EINVALID)
		s.setNow(testNow.Add(time.Hour)) // the hold lapsed; nothing swept it
		tt, err := s.db.UpdateTicketType(s.org, s.event.ID, s.tt, admit.TicketTypeUpdate{Quantity: new(int64(3))})
		must(t, "UpdateTicketType", err)
		if tt.Quantity != 3 || *tt.Available != 1 {
			t.Fatalf("after the drop: quantity %d, available %d; want 3 and 1", tt.Quantity, *tt.Available)
		}
		if sold, held := s.counts(t); sold != 2 || held != 0 {
			t.Fatalf("sold %d held %d, want 2 and 0", sold, held)
		}
		_, err = s.db.UpdateTicketType(s.org, s.event.ID, s.tt, admit.TicketTypeUpdate{Quantity: new(int64(1))})
		wantCode(t, "dropping below what is sold", err, admit.EINVALID)
	})
}
