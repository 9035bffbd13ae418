package admit

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Paging limits.
const (
	DefaultPageLimit = 20
	MaxPageLimit     = 100
)

// Page asks for one page of a list ordered by a key and then by id.
type Page struct {
	Limit  int
	Cursor *Cursor // nil: the first page
}

// Cursor points after the last row of the previous page. Keyset paging stays
// stable while rows are inserted, unlike offsets.
type Cursor struct {
	Sort  string // the ordering it belongs to, so a cursor is not reused with another
	Value string // the sort key of the last row
	ID    string // the id of the last row, to break ties
}

const cursorVersion = "c1"

// Encode returns the opaque form sent to clients.
func (c Cursor) Encode() string {
	raw := strings.Join([]string{cursorVersion, c.Sort, c.Value, c.ID}, "\x00")
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// ParseCursor decodes an opaque cursor made by Encode for the given sort.
func ParseCursor(s, sort string) (*Cursor, error) {
	bad := Invalid(FieldError{Location: "query.cursor", Message: "is not a cursor returned by this list"})
	if len(s) > 1024 {
		return nil, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	// Only what Encode makes gets through: a made-up id or value in bytes
	// the database cannot compare (not UTF-8) is the client's mistake.
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 4 || parts[0] != cursorVersion || parts[1] != sort || !ValidID(parts[3]) || !utf8.ValidString(parts[2]) {
		return nil, bad
	}
	return &Cursor{Sort: parts[1], Value: parts[2], ID: parts[3]}, nil
}

// IntValue returns the sort key of a list ordered by a number or an instant.
func (c Cursor) IntValue() (int64, error) {
	v, err := strconv.ParseInt(c.Value, 10, 64)
	if err != nil {
		return 0, Invalid(FieldError{Location: "query.cursor", Message: "is not a cursor returned by this list"})
	}
	return v, nil
}
