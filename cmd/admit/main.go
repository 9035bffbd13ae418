// Command admit runs Admit, the event registration and ticketing platform.
//
//	admit serve            HTTP server and background workers
//	admit migrate          apply the database migrations
//	admit user create      create an account (password from stdin or --password-file)
//	admit demo             load the demo catalogue, or --events N generated events
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // event time zones on machines without tzdata

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/account"
	"github.com/admit-events/admit/internal/cache"
	"github.com/admit-events/admit/internal/demo"
	"github.com/admit-events/admit/internal/outbox"
	"github.com/admit-events/admit/internal/registration"
	"github.com/admit-events/admit/internal/store"
	"github.com/admit-events/admit/internal/stripe"
	"github.com/admit-events/admit/internal/web"
	"github.com/admit-events/admit/internal/web/api"
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

const usage = `admit: event registration and ticketing

Usage:
  admit serve [flags]                 run the HTTP server and workers
  admit migrate [flags]               apply the database migrations
  admit user create --email E --role attendee|organizer|admin [--org NAME] [--name N] [--password-file F]
                                      create an account; the password is read from stdin unless --password-file
  admit demo [--events N] [flags]     load the demo catalogue; with --events, also N generated events
  admit outbox list [--limit N]       the undelivered work (refunds, notices) and the dead letters, with their errors
  admit outbox retry (--seq N,… | --all)
                                      put dead letters back in line once their cause is fixed

Every command takes the storage flags (--data-dir, --database-url, …) and honours
the same ADMIT_* environment variables. Run "admit serve --help" for all of them.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, "admit:", err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "admit:", err)
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// run dispatches a command line; tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"a command is required"}
	}
	switch args[0] {
	case "serve":
		m := NewMain(stdout, stderr)
		if err := m.ParseFlags(args[1:]); err != nil {
			return err
		}
		return m.RunUntil(ctx)
	case "migrate":
		var c Config
		if err := parse("migrate", args[1:], stderr, c.bindStorage); err != nil {
			return err
		}
		db, err := openDB(ctx, &c, stderr)
		if err != nil {
			return err
		}
		defer db.Close()
		fmt.Fprintln(stdout, "migrations applied")
		return nil
	case "user":
		return runUser(ctx, args[1:], stdin, stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "outbox":
		return runOutbox(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}

// parse parses a subcommand's flags: config binds the Config's flags, which
// have environment twins; extra binds the subcommand's own.
func parse(name string, args []string, stderr io.Writer, config func(*flag.FlagSet), extra ...func(*flag.FlagSet)) error {
	fs := flag.NewFlagSet("admit "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	config(fs)
	describeEnv(fs)
	twins := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { twins[f.Name] = true })
	for _, b := range extra {
		b(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if err := applyEnv(fs, twins); err != nil {
		return usageError{err.Error()}
	}
	return nil
}

// openDB opens and migrates the configured database, logging to stderr.
func openDB(ctx context.Context, c *Config, stderr io.Writer) (*store.DB, error) {
	slog.SetDefault(newLogger(c.LogLevel, stderr))
	db, err := store.Open(ctx, c.Store())
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func newLogger(level string, w io.Writer) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

func runUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError{"usage: admit user create --email E --role attendee|organizer|admin [--org NAME]"}
	}
	var c Config
	var email, role, org, name, passwordFile string
	err := parse("user create", args[1:], stderr, c.bindStorage, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "email address (required)")
		fs.StringVar(&role, "role", "attendee", "attendee, organizer or admin")
		fs.StringVar(&org, "org", "", "organization the organizer belongs to; created when missing")
		fs.StringVar(&name, "name", "", "display name (default: the email's local part)")
		fs.StringVar(&passwordFile, "password-file", "", "file holding the password (default: read a line from stdin)")
	})
	if err != nil {
		return err
	}
	if email == "" {
		return usageError{"--email is required"}
	}
	password, err := readPassword(passwordFile, stdin)
	if err != nil {
		return err
	}
	if name == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	db, err := openDB(ctx, &c, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	accounts := account.New(db, time.Hour, account.DefaultParams)
	u, err := accounts.CreateUser(admit.NewContextWithUser(ctx, admit.System),
		admit.NewUser{Email: email, Password: password, Name: name, Role: admit.Role(role), Organization: org})
	if err != nil {
		return errors.New(strings.ReplaceAll(admit.ErrorMessage(err), "body.", "")) // the API's field names, not this command's
	}
	fmt.Fprintf(stdout, "created %s %s (%s)\n", u.Role, u.Email, u.ID)
	return nil
}

func readPassword(file string, stdin io.Reader) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	if line = strings.TrimRight(line, "\r\n"); line == "" {
		return "", usageError{"no password: pipe it on stdin or use --password-file"}
	}
	return line, nil
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c Config
	var events int
	err := parse("demo", args, stderr, c.bindStorage, func(fs *flag.FlagSet) {
		fs.IntVar(&events, "events", 0, "also generate this many published events (for load and search benchmarks)")
	})
	if err != nil {
		return err
	}
	db, err := openDB(ctx, &c, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	accounts := account.New(db, time.Hour, account.DefaultParams)
	if err := demo.Load(ctx, db, accounts, stdout); err != nil {
		return err
	}
	if events > 0 {
		return demo.Generate(ctx, db, events, stdout)
	}
	return nil
}

// Main is one admit serve process; end-to-end tests start it on :0.
type Main struct {
	Config Config
	DB     *store.DB
	Server *web.Server

	Orders *registration.Service

	stdout, stderr io.Writer
	log            *slog.Logger
	ln             net.Listener
	served         chan error
	outbox         *outbox.Dispatcher
}

// NewMain returns a process that writes to stdout and stderr.
func NewMain(stdout, stderr io.Writer) *Main { return &Main{stdout: stdout, stderr: stderr} }

// ParseFlags reads the serve flags and their ADMIT_* twins.
func (m *Main) ParseFlags(args []string) error {
	if err := parse("serve", args, m.stderr, m.Config.bindServe); err != nil {
		return err
	}
	if err := m.Config.Validate(); err != nil {
		return usageError{err.Error()}
	}
	return nil
}

// Run opens the database, migrates, loads demo data and starts serving; it
// returns once the server listens. /readyz turns 200 when Run returns.
func (m *Main) Run(ctx context.Context) error {
	m.log = newLogger(m.Config.LogLevel, m.stderr)
	slog.SetDefault(m.log)
	m.log.Info("starting", "version", Version, "config", m.Config.Masked())

	var err error
	if m.ln, err = net.Listen("tcp", m.Config.Addr); err != nil {
		return err
	}
	m.DB, err = store.Open(ctx, m.Config.Store())
	if err != nil {
		m.ln.Close()
		return err
	}
	m.DB.HoldTTL = m.Config.HoldTTL
	var sc *stripe.Client
	if m.Config.StripeSecretKey != "" {
		if sc, err = stripe.New(stripe.Config{SecretKey: m.Config.StripeSecretKey, WebhookSecret: m.Config.StripeWebhookKey, BaseURL: m.Config.StripeAPIURL}); err != nil {
			return err
		}
	}
	m.DB.StripeEnabled = sc != nil
	m.Orders = registration.New(m.DB, sc, m.log)
	acc := account.New(m.DB, m.Config.TokenTTL, account.DefaultParams)
	m.Server = web.NewServer(web.Config{Logger: m.log, Accounts: acc, Database: m.DB, Idempotency: m.DB, LogRequests: m.Config.LogRequests, Version: Version})
	lists := cache.New(m.Config.CacheTTL)
	if err := m.Server.RegisterMetrics(outbox.NewCollector(m.DB, m.log)); err != nil {
		return err
	}
	m.Server.Router().Idempotent(api.IdempotentPatterns...)
	m.Server.Router().Cached(lists, api.CachedPatterns...)
	api.Register(m.Server.API(), api.Deps{Accounts: acc, Geo: m.DB, Events: m.DB, Orders: m.Orders, Webhooks: m.Orders,
		Cache: lists, Logger: m.log})

	// Serve at once so that /healthz answers and /readyz says 503 during start-up.
	m.served = make(chan error, 1)
	go func() { m.served <- m.Server.Serve(m.ln) }()

	if err := m.DB.Migrate(ctx); err != nil {
		return err
	}
	if m.Config.Demo {
		if err := demo.Load(ctx, m.DB, acc, m.stdout); err != nil {
			return err
		}
	}
	m.startWorkers()
	m.Server.SetReady()
	m.log.Info("listening", "addr", m.Addr(), "engine", m.DB.Engine())
	return nil
}

// startWorkers runs the outbox dispatcher and the sweeper of lapsed holds.
func (m *Main) startWorkers() {
	m.outbox = outbox.New(m.DB, m.log, m.Config.WorkerInterval, func(ctx context.Context, msg store.OutboxMessage) error {
		// Notifications will consume these; until then they are recorded as seen.
		m.log.Debug("outbox", "topic", msg.Topic, "aggregate_id", msg.AggregateID)
		return nil
	})
	m.outbox.Handle("refund.requested", m.Orders.SendRefund)
	m.outbox.Handle("event.cancelled", m.DB.EventCancelled)
	m.outbox.Handle("order.cancelled", m.Orders.StopPayment)
	m.outbox.Start()
	m.Orders.StartSweeper(5 * m.Config.WorkerInterval)
}

// Addr is the address the server listens on.
func (m *Main) Addr() string { return m.ln.Addr().String() }

// RunUntil runs until ctx is cancelled (SIGTERM, SIGINT), then shuts down.
func (m *Main) RunUntil(ctx context.Context) error {
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	select {
	case <-ctx.Done():
		m.log.Info("shutting down")
	case err := <-m.served:
		if err != nil {
			m.Close()
			return err
		}
	}
	return m.Close()
}

// Close finishes in-flight requests, then closes the database.
func (m *Main) Close() error {
	var errs []error
	if m.Server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
		errs = append(errs, m.Server.Shutdown(ctx))
		cancel()
	} else if m.ln != nil {
		m.ln.Close()
	}
	if m.outbox != nil {
		m.outbox.Close()
	}
	if m.Orders != nil {
		m.Orders.Close()
	}
	if m.DB != nil {
		errs = append(errs, m.DB.Close())
	}
	if m.log != nil {
		m.log.Info("stopped")
	}
	return errors.Join(errs...)
}
