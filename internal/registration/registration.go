// Package registration orchestrates orders across the store and payment
// providers: it starts Stripe payments after the hold commits, confirms
// them from verified webhooks, sends refunds, and sweeps lapsed holds.
package registration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/store"
	"github.com/admit-events/admit/internal/stripe"
)

// Service implements admit.OrderService over the store and the gateways.
type Service struct {
	*store.DB
	providers map[string]Provider
	stripe    *stripe.Client // nil when Stripe is not configured
	log       *slog.Logger

	wg   sync.WaitGroup
	stop context.CancelFunc
}

var _ admit.OrderService = (*Service)(nil)

// New returns the service; stripe may be nil.
func New(db *store.DB, sc *stripe.Client, log *slog.Logger) *Service {
	return &Service{DB: db, providers: providers(sc), stripe: sc, log: log}
}

// CreateOrder holds the seats, then starts the payment with the order's
// provider outside the transaction (a Stripe PaymentIntent). If the
// provider cannot be reached the hold is released at once and the attendee
// may try again.
func (s *Service) CreateOrder(ctx context.Context, n admit.NewOrder) (*admit.Order, error) {
	o, err := s.DB.CreateOrder(ctx, n)
	if err != nil || o.Status != admit.OrderPending {
		return o, err
	}
	p, ok := s.providers[o.Payment.Provider]
	if !ok {
		s.release(ctx, o.ID)
		return nil, admit.Errorf(admit.EUNAVAILABLE, "%s payments are not configured on this server", o.Payment.Provider)
	}
	pay, err := p.Start(ctx, o)
	if err != nil {
		s.release(ctx, o.ID)
		s.log.Error("start payment", "order_id", o.ID, "provider", o.Payment.Provider, "err", err)
		return nil, &admit.Error{Code: admit.EUNAVAILABLE, RetryAfter: providerRetry,
			Message: "the payment provider is unavailable; nothing was charged, try again"}
	}
	if pay != o.Payment {
		if err := s.DB.SetPayment(ctx, o.ID, pay.Reference, pay.ClientSecret); err != nil {
			// The buyer never gets this payment's secret: give the seats
			// back (unless the order was released meanwhile), and stop the
			// payment, whose release the outbox could not know of.
			if admit.ErrorCode(err) != admit.ECONFLICT {
				s.release(ctx, o.ID)
			}
			o.Payment = pay
			if cerr := p.Cancel(context.WithoutCancel(ctx), o); cerr != nil {
				s.log.Error("cancel a payment nobody can pay", "order_id", o.ID, "err", cerr)
			}
			return nil, err
		}
		o.Payment = pay
	}
	return o, nil
}

// providerRetry is the Retry-After of an order refused because its payment
// could not be started.
const providerRetry = 5 * time.Second

// release gives up an order whose payment could not be started: its seats
// go back, and a retry of the request places a new order.
func (s *Service) release(ctx context.Context, id string) {
	sys := admit.NewContextWithUser(context.WithoutCancel(ctx), admit.System)
	if _, err := s.DB.AbandonOrder(sys, id); err != nil {
		s.log.Error("release after payment failure", "order_id", id, "err", err)
	}
}

// Stripe applies a Stripe webhook: the signature is verified first, so a
// forged or stale event changes nothing. payment_intent.succeeded confirms
// its order, charge.refunded records refunds made in Stripe's dashboard
// (each once per event id); other events are acknowledged and ignored.
func (s *Service) Stripe(ctx context.Context, payload []byte, signature string) error {
	if s.stripe == nil {
		return admit.Errorf(admit.EUNAVAILABLE, "Stripe is not configured on this server")
	}
	ev, err := s.stripe.ParseWebhook(payload, signature, time.Now())
	if err != nil {
		return err
	}
	switch ev.Type {
	case "payment_intent.succeeded":
		return s.stripePaid(ctx, ev)
	case "charge.refunded":
		return s.stripeRefunded(ctx, ev)
	}
	return nil
}

func (s *Service) stripePaid(ctx context.Context, ev stripe.Event) error {
	if ev.OrderID == "" {
		s.log.Warn("stripe: payment without an order_id: not one of ours", "event_id", ev.ID, "payment_intent", ev.PaymentRef)
		return nil // another integration's: do not make Stripe retry forever
	}
	_, err := s.DB.ConfirmPayment(admit.NewContextWithUser(ctx, admit.System), store.Payment{
		Provider: admit.ProviderStripe, NoticeID: ev.ID, OrderID: ev.OrderID, Ref: ev.PaymentRef, Amount: ev.Amount})
	switch admit.ErrorCode(err) {
	case admit.ENOTFOUND:
		s.log.Warn("stripe: payment for an unknown order", "order_id", ev.OrderID, "event_id", ev.ID)
		return nil // not ours: do not make Stripe retry forever
	case admit.EINVALID:
		// Refused, so Stripe retries and shows the failure: a person must look.
		s.log.Error("stripe: payment refused", "order_id", ev.OrderID, "event_id", ev.ID, "err", err)
	}
	return err
}

// stripeRefunded records what a charge refunded beyond Admit's own refunds.
func (s *Service) stripeRefunded(ctx context.Context, ev stripe.Event) error {
	err := s.DB.RecordProviderRefunds(ctx, store.ProviderRefunds{Provider: admit.ProviderStripe, NoticeID: ev.ID,
		PaymentRef: ev.PaymentRef, Refunded: ev.Refunded})
	switch admit.ErrorCode(err) {
	case admit.ENOTFOUND:
		s.log.Warn("stripe: refund of a payment that is no order's", "payment_intent", ev.PaymentRef, "event_id", ev.ID)
		return nil // another integration's: do not make Stripe retry forever
	case admit.EINVALID:
		s.log.Error("stripe: refund refused", "payment_intent", ev.PaymentRef, "event_id", ev.ID, "err", err)
	}
	return err
}

// SendRefund is the outbox handler of refund.requested: it asks the
// provider for the money back, idempotently (the refund id is the key).
func (s *Service) SendRefund(ctx context.Context, m store.OutboxMessage) error {
	var p struct {
		RefundID string `json:"refund_id"`
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		return fmt.Errorf("registration: refund payload: %w", err)
	}
	r, err := s.DB.FindRefund(ctx, p.RefundID)
	if err != nil || r.Status != admit.RefundPending {
		return err
	}
	provider, ok := s.providers[r.Provider]
	if !ok {
		return fmt.Errorf("registration: refund %s: %s payments are not configured", r.ID, r.Provider)
	}
	ref, err := provider.Refund(ctx, r)
	var short *shortRefund
	if errors.As(err, &short) {
		s.log.Warn("refund shortened: the payment was refunded outside Admit meanwhile", "refund_id", r.ID, "order_id", r.OrderID,
			"amount", r.Amount.Amount, "sendable", short.sendable)
		return s.DB.ShortenRefund(ctx, r.ID, short.sendable)
	}
	if err != nil {
		return fmt.Errorf("registration: refund %s: %w", r.ID, err)
	}
	if ref == "" {
		return nil // owed: an organizer pays it back and marks it refunded
	}
	return s.DB.CompleteRefund(ctx, r.ID, ref)
}

// StopPayment is the outbox handler of order.cancelled: an order cancelled
// unpaid (by its buyer, or with its event) has its payment stopped, so that
// nobody pays for seats that are gone. An order that merely expired keeps
// its payment open: a late payment may still get seats (and is refunded
// when it cannot).
func (s *Service) StopPayment(ctx context.Context, m store.OutboxMessage) error {
	var p struct {
		OrderID string            `json:"order_id"`
		From    admit.OrderStatus `json:"from"`
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		return fmt.Errorf("registration: order.cancelled payload: %w", err)
	}
	if p.From != admit.OrderPending && p.From != admit.OrderExpired {
		return nil // it was paid: its refund is under way
	}
	o, err := s.DB.FindOrder(admit.NewContextWithUser(ctx, admit.System), p.OrderID)
	if err != nil {
		return err
	}
	provider, ok := s.providers[o.Payment.Provider]
	if !ok {
		return fmt.Errorf("registration: stop the payment of %s: %s payments are not configured", o.ID, o.Payment.Provider)
	}
	return provider.Cancel(ctx, o)
}

// StartSweeper records lapsed holds, forgets expired idempotency keys and
// prunes old delivered outbox messages every interval until Close.
func (s *Service) StartSweeper(interval time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := s.DB.ExpireOrders(ctx, 500); err != nil && ctx.Err() == nil {
				s.log.Error("expire orders", "err", err)
			}
			if _, err := s.DB.SweepIdempotencyKeys(ctx, s.DB.Now().Add(-store.IdempotencyTTL)); err != nil && ctx.Err() == nil {
				s.log.Error("sweep idempotency keys", "err", err)
			}
			if err := s.pruneOutbox(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("prune outbox", "err", err)
			}
		}
	}()
}

// pruneOutbox deletes the delivered messages older than the retention, a
// batch at a time so that no statement holds the table long.
func (s *Service) pruneOutbox(ctx context.Context) error {
	const batch = 1000
	for n := int64(batch); n == batch && ctx.Err() == nil; {
		var err error
		if n, err = s.DB.PruneOutbox(ctx, s.DB.Now().Add(-store.OutboxRetention), batch); err != nil {
			return err
		}
	}
	return nil
}

// Close stops the sweeper and waits for it.
func (s *Service) Close() {
	if s.stop != nil {
		s.stop()
		s.wg.Wait()
	}
}
