package admit

import (
	"encoding/base64"
	"strings"
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
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 4 || parts[0] != cursorVersion || parts[1] != sort || parts[3] == "" {
		return nil, bad
	}
	return &Cursor{Sort: parts[1], Value: parts[2], ID: parts[3]}, nil
}
