package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/admit-events/admit/internal/store"
)

const outboxUsage = "usage: admit outbox list [--limit N] | admit outbox retry (--seq N[,N…] | --all)"

// runOutbox shows the outbox's backlog and dead letters, and puts dead
// letters back in line once their cause (a provider's outage, a setting) is
// fixed: the workers of a running server deliver them within a poll.
func runOutbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{outboxUsage}
	}
	var c Config
	switch args[0] {
	case "list":
		limit := 100
		if err := parse("outbox list", args[1:], stderr, c.bindStorage, func(fs *flag.FlagSet) {
			fs.IntVar(&limit, "limit", limit, "list at most this many dead messages")
		}); err != nil {
			return err
		}
		if limit < 1 {
			return usageError{"--limit must be at least 1"}
		}
		return withDB(ctx, &c, stderr, func(db *store.DB) error { return listOutbox(ctx, db, limit, stdout) })
	case "retry":
		var seqs string
		var all bool
		if err := parse("outbox retry", args[1:], stderr, c.bindStorage, func(fs *flag.FlagSet) {
			fs.StringVar(&seqs, "seq", "", "comma-separated sequence numbers of dead messages (from admit outbox list)")
			fs.BoolVar(&all, "all", false, "retry every dead message")
		}); err != nil {
			return err
		}
		ids, err := parseSeqs(seqs)
		if err != nil {
			return err
		}
		if all == (len(ids) > 0) {
			return usageError{"give either --seq or --all"}
		}
		return withDB(ctx, &c, stderr, func(db *store.DB) error {
			n, err := db.ReviveOutbox(ctx, ids...)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%d dead message(s) back in line\n", n)
			if len(ids) > 0 && n < int64(len(ids)) {
				return fmt.Errorf("%d of the sequence numbers given are not dead messages (admit outbox list shows those)", int64(len(ids))-n)
			}
			return nil
		})
	}
	return usageError{outboxUsage}
}

// withDB runs f on the configured database as it is: a command that reads
// or repairs the outbox must not create an empty database (and report it
// clean) when pointed at the wrong place, nor migrate a live one.
func withDB(ctx context.Context, c *Config, stderr io.Writer, f func(*store.DB) error) error {
	slog.SetDefault(newLogger(c.LogLevel, stderr))
	cfg := c.Store()
	cfg.MustExist = true
	db, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	pending, err := db.PendingMigrations(ctx)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		return fmt.Errorf("the database lacks %d migration(s) (%s…): run admit migrate with the same flags first", len(pending), pending[0])
	}
	return f(db)
}

// parseSeqs reads a comma-separated list of sequence numbers, once each.
func parseSeqs(s string) ([]int64, error) {
	if s == "" {
		return nil, nil
	}
	var seqs []int64
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || n < 1 {
			return nil, usageError{fmt.Sprintf("--seq: %q is not a sequence number", f)}
		}
		seqs = append(seqs, n)
	}
	slices.Sort(seqs)
	return slices.Compact(seqs), nil
}

// listOutbox prints the backlog, then the dead messages with their last error.
func listOutbox(ctx context.Context, db *store.DB, limit int, w io.Writer) error {
	s, err := db.OutboxStats(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "pending: %d", s.Pending)
	if !s.OldestPending.IsZero() {
		fmt.Fprintf(w, " (oldest since %s)", s.OldestPending.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "\ndead: %d\n", s.Dead)
	dead, err := db.DeadOutbox(ctx, limit)
	if err != nil || len(dead) == 0 {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSEQ\tTOPIC\tAGGREGATE\tATTEMPTS\tDEAD SINCE\tLAST ERROR")
	for _, m := range dead {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", m.Seq, m.Topic, m.AggregateID, m.Attempts,
			m.DeadAt.Format(time.RFC3339), strings.ReplaceAll(m.LastError, "\n", " "))
	}
	return tw.Flush()
}
