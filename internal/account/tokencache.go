package account

import (
	"slices"
	"sync"
	"time"

	"github.com/admit-events/admit"
)

// tokenCacheTTL is how long a process trusts a token it has looked up
// without asking the database again. Every API call of a signed-in user
// starts with that lookup; during an onsale the same buyers call again and
// again within seconds, and each lookup is a round trip on the pool the
// orders wait for. A token revoked through this process is forgotten at
// once; one revoked through another process (or expiring) keeps working
// here for at most this long, as does a changed role or membership.
const tokenCacheTTL = 2 * time.Second

// maxCachedTokens bounds memory: past it, the cache starts over.
const maxCachedTokens = 10_000

// tokenCache maps token hashes to their owners for tokenCacheTTL.
type tokenCache struct {
	mu      sync.Mutex
	entries map[string]cachedToken
	// revocations counts forget calls: a lookup that began before a
	// revocation may have read the revoked token, and is not kept.
	revocations uint64
}

type cachedToken struct {
	user    *admit.User
	expires time.Time
}

func newTokenCache() *tokenCache { return &tokenCache{entries: map[string]cachedToken{}} }

// get returns a copy of the owner of hash if it was looked up less than
// tokenCacheTTL before now: callers may not change the cached user.
func (c *tokenCache) get(hash string, now time.Time) (*admit.User, bool) {
	c.mu.Lock()
	e, ok := c.entries[hash]
	c.mu.Unlock()
	if !ok || !now.Before(e.expires) {
		return nil, false
	}
	return clone(e.user), true
}

// generation is what put needs to know whether a revocation happened
// since: take it before looking a token up.
func (c *tokenCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.revocations
}

// put remembers the owner of hash from now on, unless a token was revoked
// since generation gen (the lookup may have raced the revocation).
func (c *tokenCache) put(hash string, u *admit.User, now time.Time, gen uint64) {
	kept := clone(u)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.revocations != gen {
		return
	}
	if len(c.entries) >= maxCachedTokens {
		for h, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, h)
			}
		}
	}
	if len(c.entries) >= maxCachedTokens {
		clear(c.entries)
	}
	c.entries[hash] = cachedToken{user: kept, expires: now.Add(tokenCacheTTL)}
}

func clone(u *admit.User) *admit.User {
	c := *u
	c.OrganizationIDs = slices.Clone(u.OrganizationIDs)
	return &c
}

// forget drops hash (a revoked token).
func (c *tokenCache) forget(hash string) {
	c.mu.Lock()
	delete(c.entries, hash)
	c.revocations++
	c.mu.Unlock()
}
