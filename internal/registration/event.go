package registration

import (
	"context"

	"github.com/admit-events/admit"
)

var _ admit.EventService = (*Service)(nil)

// CreateEvent creates a draft, refusing a payment provider this server
// cannot take payments with: its orders could never be paid.
func (s *Service) CreateEvent(ctx context.Context, e *admit.Event) error {
	if err := s.checkProvider(ctx, e.PaymentProvider); err != nil {
		return err
	}
	return s.DB.CreateEvent(ctx, e)
}

// UpdateEvent changes an event, with CreateEvent's check of the provider.
func (s *Service) UpdateEvent(ctx context.Context, id string, u admit.EventUpdate) (*admit.Event, error) {
	if u.PaymentProvider != nil {
		if err := s.checkProvider(ctx, *u.PaymentProvider); err != nil {
			return nil, err
		}
	}
	return s.DB.UpdateEvent(ctx, id, u)
}

// checkProvider fails (EINVALID on body.payment_provider) when a caller who
// may create events names a known provider that is not configured here.
// Unknown names and everyone else's requests are left to the store, which
// answers them (invalid field, forbidden) as it always does.
func (s *Service) checkProvider(ctx context.Context, name string) error {
	u := admit.UserFromContext(ctx)
	if name != admit.ProviderStripe || s.providers[name] != nil || u == nil || (u.Role != admit.RoleOrganizer && !u.IsAdmin()) {
		return nil
	}
	var p admit.Problems
	p.Add("body.payment_provider", "stripe is not configured on this server (ADMIT_STRIPE_SECRET_KEY): use manual")
	return p.Err()
}
