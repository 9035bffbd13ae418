package store

import (
	"context"
	"strconv"
	"strings"

	"github.com/admit-events/admit"
)

// query builds a WHERE clause with numbered placeholders ($1, $2…), which
// both engines accept.
type query struct {
	where []string
	args  []any
}

// arg adds a value and returns its placeholder.
func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// in adds values and returns their placeholders as a list for IN: "($1, $2)".
func (q *query) in(vals ...any) string {
	ph := make([]string, len(vals))
	for i, v := range vals {
		ph[i] = q.arg(v)
	}
	return "(" + strings.Join(ph, ", ") + ")"
}

// and adds a condition built with q.arg.
func (q *query) and(cond string) { q.where = append(q.where, cond) }

func (q *query) whereSQL() string {
	if len(q.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(q.where, " AND ")
}

// pageLimit returns the row limit of a page, clamped to the allowed range.
func pageLimit(p admit.Page) int {
	switch {
	case p.Limit <= 0:
		return admit.DefaultPageLimit
	case p.Limit > admit.MaxPageLimit:
		return admit.MaxPageLimit
	}
	return p.Limit
}

// nextCursor trims the extra row fetched to learn whether another page
// exists and returns the cursor pointing after the last kept row.
func nextCursor[T any](rows []T, limit int, sort string, key func(T) (value, id string)) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	v, id := key(rows[limit-1])
	return rows, admit.Cursor{Sort: sort, Value: v, ID: id}.Encode()
}

// requireAdmin returns EUNAUTHORIZED/EFORBIDDEN unless the caller is an admin.
func requireAdmin(ctx context.Context) error {
	u, err := admit.RequireUser(ctx)
	if err != nil {
		return err
	}
	if !u.IsAdmin() {
		return admit.Errorf(admit.EFORBIDDEN, "only admins may do this")
	}
	return nil
}

// requireOrganizer returns the caller if they are an organizer or admin.
func requireOrganizer(ctx context.Context) (*admit.User, error) {
	u, err := admit.RequireUser(ctx)
	if err != nil {
		return nil, err
	}
	if u.Role != admit.RoleOrganizer && !u.IsAdmin() {
		return nil, admit.Errorf(admit.EFORBIDDEN, "only organizers and admins may do this")
	}
	return u, nil
}

// nullString maps "" to NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
