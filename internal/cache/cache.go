// Package cache keeps rendered public responses in process for a few
// seconds. Local writes clear it; the short TTL makes several processes
// converge on each other's writes.
package cache

import (
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// maxEntries bounds memory: past it, the cache starts over.
const maxEntries = 10_000

// Entry is a rendered response with its validators.
type Entry struct {
	Body         []byte
	ETag         string
	CacheControl string
	expires      time.Time
}

// Cache maps keys to entries for at most TTL. A zero TTL disables it.
type Cache struct {
	ttl     time.Duration
	mu      sync.RWMutex
	entries map[string]Entry
}

// New returns a cache keeping entries for ttl (0: keep nothing).
func New(ttl time.Duration) *Cache {
	return &Cache{ttl: ttl, entries: map[string]Entry{}}
}

// TTL is how long entries are kept; clients may cache as long.
func (c *Cache) TTL() time.Duration { return c.ttl }

// Get returns the entry for key if it has not expired.
func (c *Cache) Get(key string, now time.Time) (Entry, bool) {
	if c.ttl <= 0 {
		return Entry{}, false
	}
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || now.After(e.expires) {
		return Entry{}, false
	}
	return e, true
}

// Put stores e under key until the TTL from now.
func (c *Cache) Put(key string, e Entry, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	e.expires = now.Add(c.ttl)
	c.mu.Lock()
	if len(c.entries) >= maxEntries {
		c.entries = map[string]Entry{}
	}
	c.entries[key] = e
	c.mu.Unlock()
}

// Clear forgets everything; called after every local catalogue write.
func (c *Cache) Clear() {
	c.mu.Lock()
	c.entries = map[string]Entry{}
	c.mu.Unlock()
}

// ETag returns a strong entity tag for body.
func ETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}
