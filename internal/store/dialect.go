package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/admit-events/admit"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// engine is the dialect seam: everything that differs between SQLite and
// PostgreSQL is a method here, the rest of the package is shared SQL.
type engine string

const (
	sqliteEngine   engine = "sqlite"
	postgresEngine engine = "postgres"
)

// errBusy is a transaction the database gave up on (on PostgreSQL a
// deadlock victim or a serialization failure, on SQLite a write still
// locked out after its busy timeout): nothing was done.
var errBusy = &admit.Error{Code: admit.EUNAVAILABLE, Message: "the database is busy; try again", RetryAfter: time.Second}

// retryable reports whether err ended a PostgreSQL transaction as a
// deadlock victim or a serialization failure: it did nothing and may
// simply run again. (SQLite's busy errors are not: its busy timeout has
// waited already.)
func (e engine) retryable(err error) bool {
	var pgErr *pgconn.PgError
	return e == postgresEngine &&
		(errors.Is(err, errBusy) || errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01"))
}

// translate turns driver errors into domain errors by code, the same on both
// engines; other errors pass through.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return admit.Errorf(admit.ECONFLICT, "it already exists")
		case "23503":
			return admit.Errorf(admit.ECONFLICT, "it is referenced by other records, or refers to one that does not exist")
		case "40001", "40P01":
			return errBusy
		case "22021", "22P05": // a NUL, or bytes that are not UTF-8, in text
			return admit.Errorf(admit.EINVALID, "the text holds a character that cannot be stored (such as NUL)")
		}
		return err
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return admit.Errorf(admit.ECONFLICT, "it already exists")
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return admit.Errorf(admit.ECONFLICT, "it is referenced by other records, or refers to one that does not exist")
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return errBusy
		}
	}
	return err
}

// searchTerms reduces a user's query to at most 8 words of letters and
// digits, so that no input can be a syntax error in either engine's query
// language.
func searchTerms(q string) []string {
	words := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(words) > 8 {
		words = words[:8]
	}
	for i, w := range words {
		if r := []rune(w); len(r) > 64 {
			words[i] = string(r[:64])
		}
	}
	return words
}

// manyMatches is the number of full-text matches past which SQLite is
// better off walking the events in start order and probing the matches
// than sorting every match.
const manyMatches = 2000

// searchCondition returns the SQL condition matching events whose text
// contains every term (as a prefix), adding its argument with arg. SQLite's
// planner knows nothing of how many rows a MATCH yields, so it is told:
// for a common query the "+" keeps it from driving the query from the
// matches, and it walks the start-time index instead.
func (e engine) searchCondition(ctx context.Context, q queryer, terms []string, arg func(any) string) (string, error) {
	if e == postgresEngine {
		return "e.search_doc @@ to_tsquery('simple', " + arg(strings.Join(terms, ":* & ")+":*") + ")", nil
	}
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = `"` + t + `"*`
	}
	match := strings.Join(quoted, " ")
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM event_search WHERE event_search MATCH $1 LIMIT $2)`, match, manyMatches).Scan(&n)
	if err != nil {
		return "", fmt.Errorf("store: count matches: %w", err)
	}
	seq := "e.seq"
	if n >= manyMatches {
		seq = "+e.seq"
	}
	return seq + " IN (SELECT rowid FROM event_search WHERE event_search MATCH " + arg(match) + ")", nil
}

// indexEvent refreshes the full-text document of one event from its title,
// description, category, tags, venue and city.
func (e engine) indexEvent(ctx context.Context, tx *Tx, eventID string) error {
	var doc string
	err := tx.QueryRowContext(ctx, `
		SELECT e.title || ' ' || e.description || ' ' || e.category || ' ' || e.tags || ' ' ||
		       l.name || ' ' || l.address || ' ' || c.name
		FROM events e JOIN locations l ON l.id = e.location_id JOIN cities c ON c.id = e.city_id
		WHERE e.id = $1`, eventID).Scan(&doc)
	if err != nil {
		return fmt.Errorf("store: index event: %w", err)
	}
	if e == postgresEngine {
		_, err = tx.ExecContext(ctx, `UPDATE events SET search_doc = to_tsvector('simple', $2) WHERE id = $1`, eventID, doc)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO event_search (rowid, body) SELECT seq, $2 FROM events WHERE id = $1`, eventID, doc)
	}
	if err != nil {
		return fmt.Errorf("store: index event: %w", err)
	}
	return nil
}

// unindexEvent removes an event's document (PostgreSQL's lives in the row).
func (e engine) unindexEvent(ctx context.Context, tx *Tx, eventID string) error {
	if e == postgresEngine {
		return nil
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM event_search WHERE rowid = (SELECT seq FROM events WHERE id = $1)`, eventID)
	return err
}

// forUpdate is the suffix of a SELECT that locks the rows of the table
// aliased alias before a change. SQLite needs none: its write transactions
// are exclusive from BEGIN.
func (e engine) forUpdate(alias string) string {
	if e == postgresEngine {
		return " FOR UPDATE OF " + alias
	}
	return ""
}

// unindexed is column in a condition that SQLite must not answer from an
// index on it: without statistics (nothing runs ANALYZE on an embedded
// database) it would rather read every matching row by that index and sort
// them than walk the index of the list's order. PostgreSQL weighs its
// statistics, which it keeps on the bare column only.
func (e engine) unindexed(column string) string {
	if e == sqliteEngine {
		return "+" + column
	}
	return column
}
