package store

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/admit-events/admit"
)

// maxBatch bounds the orders one hold statement takes.
const maxBatch = 32

// batchTimeout bounds a batch's statement. It runs on a context of its own:
// one buyer hanging up must not fail the others' orders.
const batchTimeout = 30 * time.Second

// onsaleQueue combines the fast-path orders of each ticket type into
// batches (PostgreSQL). Like rowGate it lets at most hotRowWriters
// statements per ticket type into the database at once; orders arriving
// meanwhile wait in line, and the next statement takes up to maxBatch of
// them in arrival order. Every order of a batch then costs the hot row one
// share of a single UPDATE and a single commit: the row's lock, held until
// the commit is flushed, serves many orders instead of one, which is how an
// onsale gets past the database's limit for one row.
type onsaleQueue struct {
	mu    sync.Mutex
	lines map[string]*onsaleLine // by ticket type and event
}

type onsaleLine struct {
	waiting []*fastHold
	running int // statements in the database
}

func newOnsaleQueue() *onsaleQueue { return &onsaleQueue{lines: map[string]*onsaleLine{}} }

// holdQueued holds an order of the fast path's shape with the next batch of
// its ticket type. A nil order and error mean that the batch did not get
// its seats: the caller takes the one-at-a-time path. When ctx ends while
// the order waits in line, it leaves the line; once its batch is in the
// database it waits for the outcome, which the caller answers with.
func (db *DB) holdQueued(ctx context.Context, u *admit.User, n admit.NewOrder) (*admit.Order, error) {
	q := db.onsale
	h := &fastHold{user: u, req: n, requestKey: admit.RequestKeyFromContext(ctx), done: make(chan struct{})}
	key := n.Items[0].TicketTypeID + "\x00" + n.EventID // a batch shares both
	q.mu.Lock()
	l := q.lines[key]
	if l == nil {
		l = &onsaleLine{}
		q.lines[key] = l
	}
	l.waiting = append(l.waiting, h)
	start := l.running < hotRowWriters
	if start {
		l.running++
	}
	q.mu.Unlock()
	if start {
		go db.drain(key, l)
	}

	select {
	case <-h.done:
	case <-ctx.Done():
		q.mu.Lock()
		if i := slices.Index(l.waiting, h); i >= 0 {
			l.waiting = slices.Delete(l.waiting, i, i+1)
			q.mu.Unlock()
			return nil, ctx.Err()
		}
		q.mu.Unlock()
		<-h.done
	}
	return h.order, h.err
}

// drain runs batches of the line until nobody waits in it.
func (db *DB) drain(key string, l *onsaleLine) {
	q := db.onsale
	for {
		q.mu.Lock()
		if len(l.waiting) == 0 {
			if l.running--; l.running == 0 {
				delete(q.lines, key)
			}
			q.mu.Unlock()
			return
		}
		n := min(len(l.waiting), maxBatch)
		batch := slices.Clone(l.waiting[:n])
		l.waiting = slices.Delete(l.waiting, 0, n)
		q.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		db.holdFast(ctx, batch)
		cancel()
	}
}
