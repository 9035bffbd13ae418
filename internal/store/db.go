// Package store is Admit's one SQL package: the same queries run on SQLite
// (embedded default) and PostgreSQL, with a narrow dialect seam in dialect.go.
// Exported service methods each own one transaction and check the caller's
// rights inside it.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/admit-events/admit"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Config says which database to open.
type Config struct {
	URL         string   // "" = SQLite in DataDir; postgres://… = PostgreSQL
	DataDir     string   // where the SQLite file lives
	ReplicaURLs []string // PostgreSQL read replicas for lag-tolerant reads
	MaxConns    int      // PostgreSQL pool size per process (0: 8)
	MustExist   bool     // SQLite: refuse to create a new database file
}

// DB is a handle on the system of record.
type DB struct {
	engine   engine
	primary  *sql.DB // writes and read-your-own-writes (SQLite: one connection)
	reader   *sql.DB // SQLite: a pool of read connections; PostgreSQL: primary
	replicas []*sql.DB
	next     atomic.Uint64
	hot      *rowGate     // onsale admission: writers per ticket type row
	onsale   *onsaleQueue // PostgreSQL: batches of orders per ticket type

	// Now is the clock, fixed once per transaction. Tests replace it.
	Now func() time.Time

	// HoldTTL is how long new events' orders hold seats unless the event
	// says otherwise (ADMIT_HOLD_TTL).
	HoldTTL time.Duration

	// StripeEnabled says whether this server can take Stripe payments; an
	// event can be set to payment_provider stripe only then.
	StripeEnabled bool

	// traceQuery, when set (by tests), sees the SQL and arguments of each
	// list query just before it runs.
	traceQuery func(query string, args []any)

	// exportPage, when set (by tests), replaces the exportPage constant.
	exportPage int
}

// trace hands a list query to traceQuery, if set.
func (db *DB) trace(query string, args []any) {
	if db.traceQuery != nil {
		db.traceQuery(query, args)
	}
}

// Open connects to the configured database. Call Migrate before use.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	db := &DB{Now: time.Now, HoldTTL: admit.DefaultHoldMinutes * time.Minute, hot: newRowGate(hotRowWriters),
		onsale: newOnsaleQueue()}
	var err error
	if cfg.URL == "" || strings.HasPrefix(cfg.URL, "sqlite:") || strings.HasPrefix(cfg.URL, "file:") {
		err = db.openSQLite(cfg)
	} else if strings.HasPrefix(cfg.URL, "postgres://") || strings.HasPrefix(cfg.URL, "postgresql://") {
		err = db.openPostgres(cfg)
	} else {
		return nil, fmt.Errorf("store: unsupported database URL scheme (want postgres:// or empty for SQLite)")
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) openSQLite(cfg Config) error {
	db.engine = sqliteEngine
	path := strings.TrimPrefix(strings.TrimPrefix(cfg.URL, "sqlite:"), "file:")
	if path == "" {
		path = filepath.Join(cfg.DataDir, "admit.db")
		if !cfg.MustExist {
			if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
				return fmt.Errorf("store: data dir: %w", err)
			}
		}
	}
	if _, err := os.Stat(path); cfg.MustExist && err != nil {
		return fmt.Errorf("store: no Admit database at %s (--data-dir, --database-url): %w", path, err)
	}
	// busy_timeout lets other processes (admit user create) wait their turn;
	// _txlock=immediate takes the write lock at BEGIN, so a transaction never
	// fails half-way on a lock upgrade. synchronous=FULL syncs the WAL at
	// every commit: a paid order answered 2xx survives a power cut or an OS
	// crash, not only the process's (NORMAL may lose the last commits then).
	pragmas := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
	var err error
	if db.primary, err = sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_txlock=immediate"); err != nil {
		return fmt.Errorf("store: open sqlite: %w", err)
	}
	// SQLite has one writer: queueing writers on one connection beats
	// letting them collide on the file lock.
	db.primary.SetMaxOpenConns(1)
	if db.reader, err = sql.Open("sqlite", "file:"+path+"?"+pragmas+"&mode=ro"); err != nil {
		return fmt.Errorf("store: open sqlite reader: %w", err)
	}
	db.reader.SetMaxOpenConns(4)
	db.reader.SetMaxIdleConns(4)
	return nil
}

func (db *DB) openPostgres(cfg Config) error {
	db.engine = postgresEngine
	maxConns := cfg.MaxConns
	if maxConns <= 0 {
		maxConns = 8
	}
	open := func(url string) (*sql.DB, error) {
		d, err := sql.Open("pgx", url)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		d.SetMaxOpenConns(maxConns)
		d.SetMaxIdleConns(maxConns)
		d.SetConnMaxIdleTime(5 * time.Minute)
		return d, nil
	}
	var err error
	if db.primary, err = open(cfg.URL); err != nil {
		return err
	}
	db.reader = db.primary
	for _, u := range cfg.ReplicaURLs {
		r, err := open(u)
		if err != nil {
			return err
		}
		db.replicas = append(db.replicas, r)
	}
	return nil
}

func (db *DB) holdMinutes() int64 { return max(int64(db.HoldTTL/time.Minute), 1) }

// Engine names the database engine: "sqlite" or "postgres".
func (db *DB) Engine() string { return string(db.engine) }

// Ping checks that the primary (and every replica) answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.primary.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	for _, r := range db.replicas {
		if err := r.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping replica: %w", err)
		}
	}
	return nil
}

// Close closes every connection.
func (db *DB) Close() error {
	var errs []error
	for _, d := range append([]*sql.DB{db.primary, db.reader}, db.replicas...) {
		if d != nil {
			errs = append(errs, d.Close())
		}
	}
	return errors.Join(errs...)
}

// replica returns a connection pool for lag-tolerant reads: a replica when
// configured (round robin), else the read pool.
func (db *DB) replica() *sql.DB {
	if len(db.replicas) == 0 {
		return db.reader
	}
	return db.replicas[db.next.Add(1)%uint64(len(db.replicas))]
}

// Tx is a write transaction with its clock fixed at BEGIN.
type Tx struct {
	*sql.Tx
	db  *DB
	now time.Time
}

// begin starts a write transaction on the primary.
func (db *DB) begin(ctx context.Context) (*Tx, error) {
	tx, err := db.primary.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: begin: %w", err)
	}
	// Microseconds are what is stored: answers built from now match reads.
	return &Tx{Tx: tx, db: db, now: db.storedNow()}, nil
}

// storedNow is the clock's time as stored (microseconds): answers built
// from it match what is read back.
func (db *DB) storedNow() time.Time { return db.Now().UTC().Truncate(time.Microsecond) }

// inTx runs fn in a write transaction and commits when it returns nil. A
// transaction PostgreSQL aborts as a deadlock victim (or a serialization
// failure) did nothing, so fn runs again in a new one, up to txAttempts
// times in all: fn must set what it sets outside the transaction afresh on
// each run. Any other error, and the last of those, is translated.
func (db *DB) inTx(ctx context.Context, fn func(tx *Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.tryTx(ctx, fn)
		if err == nil || attempt == txAttempts || !db.engine.retryable(err) {
			return translate(err)
		}
	}
}

const txAttempts = 3

func (db *DB) tryTx(ctx context.Context, fn func(tx *Tx) error) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// queryIDs returns the one column of the rows query selects.
func queryIDs(ctx context.Context, q queryer, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", query, translate(err))
	}
	return scanAll(rows, func(s scanner) (id string, err error) { return id, s.Scan(&id) })
}

// queryer is what both *sql.DB and *Tx offer for reads.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ts turns an instant into the stored form: microseconds since the epoch, the
// same integer on both engines so that comparisons and indexes agree.
func ts(t time.Time) int64 { return t.UnixMicro() }

// fromTS turns a stored instant back into a time in loc.
func fromTS(us int64, loc *time.Location) time.Time { return time.UnixMicro(us).In(loc) }
