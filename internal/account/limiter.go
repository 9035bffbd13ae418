package account

import (
	"sync"
	"time"
)

// failureLimiter counts failed logins per key (an email, a client address) in
// a sliding window and refuses attempts past the limit until the window moves.
// It lives in process; a Redis-backed one will share counts across instances.
type failureLimiter struct {
	mu       sync.Mutex
	limit    int
	window   time.Duration
	failures map[string][]time.Time
}

func newFailureLimiter(limit int, window time.Duration) *failureLimiter {
	return &failureLimiter{limit: limit, window: window, failures: map[string][]time.Time{}}
}

// retryAfter returns how long key must wait before another attempt (0: go).
func (l *failureLimiter) retryAfter(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	recent := l.prune(key, now)
	if len(recent) < l.limit {
		return 0
	}
	return recent[0].Add(l.window).Sub(now)
}

// fail records a failed attempt by key.
func (l *failureLimiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures[key] = append(l.prune(key, now), now)
	if len(l.failures) > 100_000 { // bound memory under a spray of distinct keys
		for k := range l.failures {
			if len(l.prune(k, now)) == 0 {
				delete(l.failures, k)
			}
		}
	}
}

// reset forgets key's failures after a success.
func (l *failureLimiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, key)
}

func (l *failureLimiter) prune(key string, now time.Time) []time.Time {
	times := l.failures[key]
	i := 0
	for i < len(times) && now.Sub(times[i]) >= l.window {
		i++
	}
	times = times[i:]
	if len(times) == 0 {
		delete(l.failures, key)
	} else {
		l.failures[key] = times
	}
	return times
}
