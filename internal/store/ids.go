package store

import (
	"crypto/rand"
	"encoding/base32"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns a random, unguessable id with a prefix naming its kind
// ("evt_…"), so an id pasted in the wrong place is recognisable.
func newID(prefix string) string {
	var b [15]byte
	rand.Read(b[:])
	return prefix + "_" + idEncoding.EncodeToString(b[:])
}
