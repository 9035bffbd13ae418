package store

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns a random, unguessable id with a prefix naming its kind
// ("evt_…"), so an id pasted in the wrong place is recognisable.
func newID(prefix string) string {
	var b [15]byte
	rand.Read(b[:])
	return prefix + "_" + idEncoding.EncodeToString(b[:])
}

// validID reports whether s could be an id of ours, so that junk from a URL
// is turned away before it reaches SQL (it would only miss, but cheaply).
func validID(s string) bool {
	return len(s) > 4 && len(s) <= 40 && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_')
	})
}
