package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/admit-events/admit"
)

// CreateUser stores a new account with its password hash. An organizer named
// with an organization joins it, creating it when it does not exist yet.
// Who may create which role is the account service's decision.
func (db *DB) CreateUser(ctx context.Context, n admit.NewUser, passwordHash string) (*admit.User, error) {
	u := &admit.User{ID: newID("usr"), Email: n.Email, Name: n.Name, Role: n.Role, OrganizationIDs: []string{}}
	err := db.inTx(ctx, func(tx *Tx) error {
		u.CreatedAt = tx.now
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			u.ID, u.Email, u.Name, u.Role, passwordHash, ts(tx.now))
		if err := translate(err); err != nil {
			if admit.ErrorCode(err) == admit.ECONFLICT {
				return admit.Errorf(admit.ECONFLICT, "an account with this email already exists")
			}
			return fmt.Errorf("store: create user: %w", err)
		}
		if n.Organization == "" {
			return nil
		}
		orgID, err := tx.ensureOrganization(ctx, n.Organization)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO organization_members (organization_id, user_id) VALUES ($1, $2)`, orgID, u.ID); err != nil {
			return fmt.Errorf("store: join organization: %w", translate(err))
		}
		u.OrganizationIDs = []string{orgID}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

func (tx *Tx) ensureOrganization(ctx context.Context, name string) (string, error) {
	var id string
	err := tx.QueryRowContext(ctx, `SELECT id FROM organizations WHERE name = $1`, name).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: find organization: %w", err)
	}
	id = newID("org")
	if _, err := tx.ExecContext(ctx, `INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)`, id, name, ts(tx.now)); err != nil {
		return "", fmt.Errorf("store: create organization: %w", translate(err))
	}
	return id, nil
}

// Credentials returns the id and password hash of the account with email:
// ENOTFOUND when there is none.
func (db *DB) Credentials(ctx context.Context, email string) (id, passwordHash string, err error) {
	err = db.primary.QueryRowContext(ctx, `SELECT id, password_hash FROM users WHERE email = $1`, email).Scan(&id, &passwordHash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", admit.Errorf(admit.ENOTFOUND, "no such account")
	}
	if err != nil {
		return "", "", fmt.Errorf("store: credentials: %w", err)
	}
	return id, passwordHash, nil
}

// FindUser returns an account with its organizations: ENOTFOUND.
func (db *DB) FindUser(ctx context.Context, id string) (*admit.User, error) {
	return findUser(ctx, db.primary, `u.id = $1`, id)
}

// CreateToken stores the hash of a new bearer token.
func (db *DB) CreateToken(ctx context.Context, userID, tokenHash string, expiresAt time.Time) error {
	return db.inTx(ctx, func(tx *Tx) error {
		// Expired tokens of this user are swept here, where they are cheap to find.
		if _, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE user_id = $1 AND expires_at <= $2`, userID, ts(tx.now)); err != nil {
			return fmt.Errorf("store: sweep tokens: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
			tokenHash, userID, ts(tx.now), ts(expiresAt))
		if err != nil {
			return fmt.Errorf("store: create token: %w", translate(err))
		}
		return nil
	})
}

// UserByToken returns the owner of an unexpired token: EUNAUTHORIZED.
func (db *DB) UserByToken(ctx context.Context, tokenHash string) (*admit.User, error) {
	u, err := findUser(ctx, db.primary, `u.id = (SELECT user_id FROM api_tokens WHERE token_hash = $1 AND expires_at > $2)`, tokenHash, ts(db.Now()))
	if admit.ErrorCode(err) == admit.ENOTFOUND {
		return nil, admit.Errorf(admit.EUNAUTHORIZED, "the token is invalid or expired")
	}
	return u, err
}

// DeleteToken revokes a token: EUNAUTHORIZED when it is not a valid token.
func (db *DB) DeleteToken(ctx context.Context, tokenHash string) error {
	res, err := db.primary.ExecContext(ctx, `DELETE FROM api_tokens WHERE token_hash = $1 AND expires_at > $2`, tokenHash, ts(db.Now()))
	if err != nil {
		return fmt.Errorf("store: delete token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return admit.Errorf(admit.EUNAUTHORIZED, "the token is invalid or expired")
	}
	return nil
}

func findUser(ctx context.Context, q queryer, where string, args ...any) (*admit.User, error) {
	var u admit.User
	var created int64
	var orgs sql.NullString
	err := q.QueryRowContext(ctx, `
		SELECT u.id, u.email, u.name, u.role, u.created_at,
		       (SELECT string_agg(m.organization_id, ',') FROM organization_members m WHERE m.user_id = u.id)
		FROM users u WHERE `+where, args...).Scan(&u.ID, &u.Email, &u.Name, &u.Role, &created, &orgs)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, admit.Errorf(admit.ENOTFOUND, "no such user")
	}
	if err != nil {
		return nil, fmt.Errorf("store: find user: %w", err)
	}
	u.CreatedAt = fromTS(created, time.UTC)
	u.OrganizationIDs = []string{}
	if orgs.String != "" {
		u.OrganizationIDs = strings.Split(orgs.String, ",")
	}
	return &u, nil
}
