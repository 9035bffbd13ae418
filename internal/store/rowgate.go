package store

import (
	"context"
	"slices"
	"sync"
)

// hotRowWriters is how many statements writing one ticket type's row a
// process lets into the database at once (one order each through rowGate,
// a batch each through onsaleQueue). Two keep the row busy: while one
// holds the row lock, the next is already waiting on it, so the lock passes
// without a round trip to admit in between. More only add waiters: measured
// with bench/onsale on 2 cores, one order per statement, one writer gave
// 57% of the raw limit, two 70%, four 66%, sixty-four (no gate) 59%.
const hotRowWriters = 2

// rowGate is the in-process onsale admission gate (ARCHITECTURE.md §1): it
// lets at most limit transactions at a time into the database to write the
// same ticket type row, and queues the rest first come, first served.
//
// Why: every hold of an onsale updates one row, so the database runs them
// one after the other anyway. Letting the whole connection pool wait on that
// row's lock makes PostgreSQL slower (each waiter re-checks the row when the
// lock passes, and its snapshot keeps dead row versions from being pruned),
// and both database/sql and the lock manager hand the next turn to a random
// waiter, which makes the slowest orders many times slower than the median.
//
// The gate is per process: n instances let up to n×limit writers at the
// row, still bounded. The database's conditional write stays the final word
// on availability; the gate only orders the attempts.
type rowGate struct {
	limit int
	mu    sync.Mutex
	rows  map[string]*gateRow
}

// gateRow is the queue of one row.
type gateRow struct {
	busy    int             // slots in use
	waiters []chan struct{} // in arrival order; closed when handed a slot
	users   int             // holders and waiters: the row is forgotten at 0
}

func newRowGate(limit int) *rowGate {
	return &rowGate{limit: limit, rows: map[string]*gateRow{}}
}

// enter waits for a slot on every row in ids, taken in sorted order (the
// order the database locks them in, so two callers cannot deadlock), and
// returns the function that gives them back. It fails only when ctx ends
// first, holding nothing then.
func (g *rowGate) enter(ctx context.Context, ids ...string) (release func(), err error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	for i, id := range ids {
		if err := g.take(ctx, id); err != nil {
			g.giveBack(ids[:i])
			return nil, err
		}
	}
	return func() { g.giveBack(ids) }, nil
}

// take waits for a slot on one row.
func (g *rowGate) take(ctx context.Context, id string) error {
	g.mu.Lock()
	r := g.rows[id]
	if r == nil {
		r = &gateRow{}
		g.rows[id] = r
	}
	r.users++
	if r.busy < g.limit {
		r.busy++
		g.mu.Unlock()
		return nil
	}
	turn := make(chan struct{})
	r.waiters = append(r.waiters, turn)
	g.mu.Unlock()

	select {
	case <-turn:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	if i := slices.Index(r.waiters, turn); i >= 0 {
		r.waiters = slices.Delete(r.waiters, i, i+1)
		g.forget(id, r)
		g.mu.Unlock()
		return ctx.Err()
	}
	g.mu.Unlock()
	// The slot was handed over as ctx ended: pass it on.
	g.giveBack([]string{id})
	return ctx.Err()
}

// giveBack frees one slot on each row, handing it straight to the row's
// longest waiter if there is one.
func (g *rowGate) giveBack(ids []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, id := range ids {
		r := g.rows[id]
		if len(r.waiters) > 0 {
			close(r.waiters[0])
			r.waiters = r.waiters[1:]
		} else {
			r.busy--
		}
		g.forget(id, r)
	}
}

// forget unregisters one user of a row and drops rows nobody uses, so the
// map holds only the rows being written right now. Called with mu held.
func (g *rowGate) forget(id string, r *gateRow) {
	if r.users--; r.users == 0 {
		delete(g.rows, id)
	}
}
