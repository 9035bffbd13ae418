package admit

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Role is what a user may do on the platform.
type Role string

// The roles. Check-in staff arrive with the check-in capability.
const (
	RoleAttendee  Role = "attendee"
	RoleOrganizer Role = "organizer"
	RoleAdmin     Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleAttendee || r == RoleOrganizer || r == RoleAdmin
}

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 10

// User is an account. OrganizationIDs lists the organizations the user is a
// member of (organizers only).
type User struct {
	ID              string    `json:"id"`
	Email           string    `json:"email"`
	Name            string    `json:"name"`
	Role            Role      `json:"role"`
	OrganizationIDs []string  `json:"organization_ids"`
	CreatedAt       time.Time `json:"created_at"`
}

// IsAdmin reports whether u is a platform admin.
func (u *User) IsAdmin() bool { return u != nil && u.Role == RoleAdmin }

// CanManageOrganization reports whether u may manage what orgID owns.
func (u *User) CanManageOrganization(orgID string) bool {
	if u == nil {
		return false
	}
	return u.IsAdmin() || (u.Role == RoleOrganizer && slices.Contains(u.OrganizationIDs, orgID))
}

// NewUser is the input to create an account.
type NewUser struct {
	Email        string
	Password     string
	Name         string
	Role         Role
	Organization string // organization name; created when missing (organizers only)
}

// Normalize trims the fields and lowercases the email.
func (n *NewUser) Normalize() {
	n.Email = NormalizeEmail(n.Email)
	n.Name = strings.TrimSpace(n.Name)
	n.Organization = strings.TrimSpace(n.Organization)
	if n.Role == "" {
		n.Role = RoleAttendee
	}
}

// Validate checks the input of a new account.
func (n *NewUser) Validate() error {
	var p Problems
	if !ValidEmail(n.Email) {
		p.Add("body.email", "must be a valid email address")
	}
	if len([]rune(n.Password)) < MinPasswordLength {
		p.Add("body.password", "must be at least %d characters", MinPasswordLength)
	} else if len(n.Password) > 1024 {
		p.Add("body.password", "must be at most 1024 bytes")
	}
	checkLine(&p, "body.name", n.Name, 1, 200)
	checkLine(&p, "body.organization", n.Organization, 0, 200)
	if !n.Role.Valid() {
		p.Add("role", "must be one of attendee, organizer, admin")
	}
	if n.Organization != "" && n.Role != RoleOrganizer {
		p.Add("organization", "only organizers belong to an organization")
	}
	return p.Err()
}

// NormalizeEmail trims and lowercases an address, so one mailbox is one account.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Token is a bearer credential. Only its hash is stored.
type Token struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// AccountService manages accounts and their tokens.
type AccountService interface {
	// CreateUser creates an account: EINVALID, ECONFLICT when the email is taken.
	CreateUser(ctx context.Context, n NewUser) (*User, error)
	// IssueToken checks the credentials and returns a new token:
	// EUNAUTHORIZED for an unknown email or a wrong password alike,
	// ERATELIMITED after repeated failures.
	IssueToken(ctx context.Context, email, password, clientIP string) (*Token, error)
	// Authenticate returns the user a token belongs to: EUNAUTHORIZED.
	Authenticate(ctx context.Context, token string) (*User, error)
	// RevokeToken deletes a token: EUNAUTHORIZED if it is not valid.
	RevokeToken(ctx context.Context, token string) error
}

type userKey struct{}

// NewContextWithUser returns ctx carrying the authenticated caller.
func NewContextWithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFromContext returns the caller, or nil when anonymous.
func UserFromContext(ctx context.Context) *User {
	u, _ := ctx.Value(userKey{}).(*User)
	return u
}

// RequireUser returns the caller or EUNAUTHORIZED.
func RequireUser(ctx context.Context) (*User, error) {
	if u := UserFromContext(ctx); u != nil {
		return u, nil
	}
	return nil, Errorf(EUNAUTHORIZED, "authentication required: send Authorization: Bearer <token>")
}

// System is the caller for work done by the operator from the command line
// (admit user create, demo data): an admin that is no account.
var System = &User{ID: "system", Name: "system", Role: RoleAdmin, OrganizationIDs: []string{}}
