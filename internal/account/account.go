// Package account implements admit.AccountService: sign-up, password login
// with argon2id, bearer tokens stored as hashes, and login rate limiting.
package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/store"
)

var _ admit.AccountService = (*Service)(nil)

// Login throttling: per email and per client address.
const (
	maxFailuresPerEmail = 5
	maxFailuresPerIP    = 20
	failureWindow       = 15 * time.Minute
)

// Service implements admit.AccountService over the store.
type Service struct {
	db       *store.DB
	tokenTTL time.Duration
	params   Params
	dummy    string // a hash checked for unknown emails, so they cost as much as wrong passwords
	byEmail  *failureLimiter
	byIP     *failureLimiter
	tokens   *tokenCache
}

// New returns the account service; tokens live for tokenTTL.
func New(db *store.DB, tokenTTL time.Duration, params Params) *Service {
	return &Service{
		db: db, tokenTTL: tokenTTL, params: params,
		dummy:   HashPassword("not a password of anyone", params),
		byEmail: newFailureLimiter(maxFailuresPerEmail, failureWindow),
		byIP:    newFailureLimiter(maxFailuresPerIP, failureWindow),
		tokens:  newTokenCache(),
	}
}

// CreateUser creates an account. Anyone may sign up as an attendee; other
// roles need an admin caller (the CLI acts as admin.System).
func (s *Service) CreateUser(ctx context.Context, n admit.NewUser) (*admit.User, error) {
	n.Normalize()
	if n.Role != admit.RoleAttendee && !admit.UserFromContext(ctx).IsAdmin() {
		return nil, admit.Errorf(admit.EFORBIDDEN, "only admins may create %s accounts", n.Role)
	}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	return s.db.CreateUser(ctx, n, HashPassword(n.Password, s.params))
}

// IssueToken checks credentials and returns a new bearer token.
func (s *Service) IssueToken(ctx context.Context, email, password, clientIP string) (*admit.Token, error) {
	email = admit.NormalizeEmail(email)
	now := s.db.Now()
	wait := max(s.byEmail.retryAfter(email, now), s.byIP.retryAfter(clientIP, now))
	if wait > 0 {
		return nil, &admit.Error{Code: admit.ERATELIMITED, Message: "too many failed logins; try again later", RetryAfter: wait}
	}
	lookup := email
	if !admit.OneLine(email) || len(email) > 254 {
		lookup = "" // no account has it; PostgreSQL could not even compare a NUL
	}
	id, hash, err := s.db.Credentials(ctx, lookup)
	if err != nil && admit.ErrorCode(err) != admit.ENOTFOUND {
		return nil, err
	}
	if err != nil {
		hash = s.dummy // same work as a wrong password: timing does not reveal accounts
	}
	if !CheckPassword(password, hash) || id == "" {
		s.byEmail.fail(email, now)
		s.byIP.fail(clientIP, now)
		return nil, admit.Errorf(admit.EUNAUTHORIZED, "wrong email or password")
	}
	s.byEmail.reset(email)
	raw := make([]byte, 32)
	rand.Read(raw)
	tok := &admit.Token{Token: "adm_" + base64.RawURLEncoding.EncodeToString(raw), ExpiresAt: now.Add(s.tokenTTL).UTC().Truncate(time.Second)}
	if err := s.db.CreateToken(ctx, id, hashToken(tok.Token), tok.ExpiresAt); err != nil {
		return nil, err
	}
	return tok, nil
}

// Authenticate returns the owner of a valid token.
func (s *Service) Authenticate(ctx context.Context, token string) (*admit.User, error) {
	if len(token) < 10 || len(token) > 200 {
		return nil, admit.Errorf(admit.EUNAUTHORIZED, "the token is invalid or expired")
	}
	hash := hashToken(token)
	if u, ok := s.tokens.get(hash, s.db.Now()); ok {
		return u, nil
	}
	gen := s.tokens.generation()
	u, err := s.db.UserByToken(ctx, hash)
	if err != nil {
		return nil, err
	}
	s.tokens.put(hash, u, s.db.Now(), gen)
	return u, nil
}

// RevokeToken deletes a token.
func (s *Service) RevokeToken(ctx context.Context, token string) error {
	hash := hashToken(token)
	// After the delete: a lookup racing it finds the revocation counted and
	// does not cache the token again.
	defer s.tokens.forget(hash)
	return s.db.DeleteToken(ctx, hash)
}

// hashToken is what is stored: a leaked table gives no usable tokens. Tokens
// carry 256 random bits, so a fast hash suffices.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
