package store

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// waitQueued spins until n callers wait on the row (no sleeping: the
// waiters register under the gate's mutex before they block).
func waitQueued(t *testing.T, g *rowGate, id string, n int) {
	t.Helper()
	for g.queued(id) != n {
		runtime.Gosched()
	}
}

func TestRowGateBoundsWritersPerRow(t *testing.T) {
	g := newRowGate(2)
	var inside, most atomic.Int64
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			// Half the callers also take a second row, in either order:
			// sorted entry means no deadlock.
			ids := []string{"tt_a"}
			if i%2 == 0 {
				ids = []string{"tt_b", "tt_a"}
			}
			release, err := g.enter(context.Background(), ids...)
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			runtime.Gosched()
			inside.Add(-1)
			release()
		})
	}
	wg.Wait()
	if most.Load() > 2 {
		t.Errorf("%d callers were inside the gate of one row at once, want at most 2", most.Load())
	}
	if len(g.rows) != 0 {
		t.Errorf("the gate still tracks %d rows after everyone left", len(g.rows))
	}
}

func TestRowGateIsFirstComeFirstServed(t *testing.T) {
	g := newRowGate(1)
	release, err := g.enter(context.Background(), "tt")
	if err != nil {
		t.Fatal(err)
	}
	var order []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			r, err := g.enter(context.Background(), "tt")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			r()
		})
		waitQueued(t, g, "tt", i+1) // caller i is in the queue before i+1 starts
	}
	release()
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("callers got their turn in the order %v, want 0 1 2 3 4", order)
		}
	}
}

func TestRowGateCancelledWaiterLeavesTheQueue(t *testing.T) {
	g := newRowGate(1)
	release, _ := g.enter(context.Background(), "tt")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := g.enter(ctx, "tt", "aa_other") // sorted: takes aa_other, then waits on tt
		done <- err
	}()
	waitQueued(t, g, "tt", 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled wait returned %v, want context.Canceled", err)
	}
	// The cancelled caller gave back what it held: aa_other is free and
	// forgotten.
	g.mu.Lock()
	other := g.rows["aa_other"]
	g.mu.Unlock()
	if other != nil {
		t.Fatalf("aa_other is still tracked (%d busy) after the cancelled caller left", other.busy)
	}
	release()
	if len(g.rows) != 0 {
		t.Errorf("the gate still tracks %d rows after everyone left", len(g.rows))
	}
}

// queued is how many callers wait for a slot on the row.
func (g *rowGate) queued(id string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r := g.rows[id]; r != nil {
		return len(r.waiters)
	}
	return 0
}
