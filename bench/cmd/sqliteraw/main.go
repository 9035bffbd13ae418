// Command sqliteraw measures SQLite's single-row limit for bench/onsale: the
// conditional UPDATE that takes a seat, one transaction per statement, from
// -c goroutines for -d, on one writer connection opened the way admit opens
// its SQLite primary (WAL, synchronous=FULL, busy_timeout, foreign keys,
// _txlock=immediate, at most one open connection). It prints one line
// "BENCH tx=N tps=… p50_us=… p99_us=… …": latencies in microseconds from
// asking the pool for a transaction (queueing for the one connection
// included) to COMMIT returning, the way a request of admit sees it.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite"
)

func main() {
	dir := flag.String("dir", "", "directory for the database file (created)")
	conns := flag.Int("c", 64, "concurrent goroutines")
	dur := flag.Duration("d", 10*time.Second, "duration")
	flag.Parse()
	if err := run(*dir, *conns, *dur); err != nil {
		fmt.Fprintln(os.Stderr, "sqliteraw:", err)
		os.Exit(1)
	}
}

func run(dir string, conns int, dur time.Duration) error {
	if dir == "" {
		return fmt.Errorf("-dir is required")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	path := filepath.Join(dir, "raw.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
	// The same pragmas as internal/store/db.go's openSQLite.
	pragmas := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
	db, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_txlock=immediate")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE inv (id INTEGER PRIMARY KEY, quantity INTEGER NOT NULL, sold INTEGER NOT NULL)`,
		`INSERT INTO inv (id, quantity, sold) VALUES (1, 1000000000000, 0)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return err
	}
	var stop atomic.Bool
	lats := make([][]time.Duration, conns)
	errs := make([]error, conns)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1<<16)
			for !stop.Load() {
				t0 := time.Now()
				if err := once(ctx, db); err != nil {
					errs[i] = err
					return
				}
				lat = append(lat, time.Since(t0))
			}
			lats[i] = lat
		}()
	}
	time.Sleep(dur)
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	var sold int64
	if err := db.QueryRowContext(ctx, `SELECT sold FROM inv WHERE id = 1`).Scan(&sold); err != nil {
		return err
	}
	if sold != int64(len(all)) {
		return fmt.Errorf("sold = %d after %d committed updates", sold, len(all))
	}
	fmt.Printf("BENCH tx=%d duration_us=%d tps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d journal_mode=%s\n",
		len(all), elapsed.Microseconds(), float64(len(all))/elapsed.Seconds(),
		pct(all, 50), pct(all, 90), pct(all, 99), pct(all, 100), mode)
	return nil
}

// once: one transaction, one conditional UPDATE, COMMIT.
func once(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE inv SET sold = sold + 1 WHERE id = 1 AND sold < quantity`)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("update changed %d rows", n)
	}
	return tx.Commit()
}

func pct(sorted []time.Duration, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.5) - 1
	i = min(max(i, 0), len(sorted)-1)
	return sorted[i].Microseconds()
}
