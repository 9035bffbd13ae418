package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/admit-events/admit/internal/store"
)

// Config is every setting of admit, from flags with ADMIT_* environment
// twins. This file is the one place the environment is read.
type Config struct {
	Addr             string
	DataDir          string
	DatabaseURL      string
	ReplicaURLs      string
	DatabaseMaxConns int
	Demo             bool
	CacheTTL         time.Duration
	TokenTTL         time.Duration
	ShutdownTimeout  time.Duration
	LogLevel         string
	LogRequests      bool
	HoldTTL          time.Duration
	WorkerInterval   time.Duration
	StripeSecretKey  string
	StripeWebhookKey string
	StripeAPIURL     string
}

// bindStorage adds the flags every subcommand shares: where the data is.
// Every flag bound here and in bindServe has an environment twin (see
// applyEnv); defaults are literal, so that --help never shows a value taken
// from the environment (such as a secret).
func (c *Config) bindStorage(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", "./admit-data", "directory of the embedded SQLite database")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "empty: embedded SQLite in the data dir; postgres://user@host/db: PostgreSQL")
	fs.StringVar(&c.ReplicaURLs, "database-replica-urls", "", "comma-separated PostgreSQL read replicas for lag-tolerant catalogue reads")
	fs.IntVar(&c.DatabaseMaxConns, "database-max-conns", 8, "PostgreSQL connections per pool in this process")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
}

// bindServe adds the flags of admit serve.
func (c *Config) bindServe(fs *flag.FlagSet) {
	c.bindStorage(fs)
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "host:port to listen on")
	fs.BoolVar(&c.Demo, "demo", false, "load a demo catalogue into an empty database and print its accounts")
	fs.DurationVar(&c.CacheTTL, "cache-ttl", 5*time.Second, "how long public catalogue lists are cached in process; 0 disables the cache")
	fs.DurationVar(&c.TokenTTL, "token-ttl", 30*24*time.Hour, "lifetime of bearer tokens")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "how long SIGTERM waits for in-flight requests")
	fs.BoolVar(&c.LogRequests, "log-requests", true, "log one line per HTTP request")
	fs.DurationVar(&c.HoldTTL, "hold-ttl", 10*time.Minute, "how long an unpaid order holds its seats, for events that do not set hold_minutes")
	fs.DurationVar(&c.WorkerInterval, "worker-interval", time.Second, "how often background workers look for work: outbox deliveries, refunds, lapsed holds")
	fs.StringVar(&c.StripeSecretKey, "stripe-secret-key", "", "Stripe secret key sk_…; empty disables card payments")
	fs.StringVar(&c.StripeWebhookKey, "stripe-webhook-secret", "", "Stripe webhook signing secret whsec_…")
	fs.StringVar(&c.StripeAPIURL, "stripe-api-url", "", "Stripe API base URL; empty is Stripe's own (tests point it at stripe-mock)")
}

// secretFlags may also be read from the file named by their twin plus
// _FILE, for secrets kept out of the environment. They must stay string
// flags: a string's Set never fails, and a failed Set's error quotes the
// value.
var secretFlags = map[string]bool{"database-url": true, "database-replica-urls": true, "stripe-secret-key": true, "stripe-webhook-secret": true}

// envName is a flag's environment twin: --hold-ttl is ADMIT_HOLD_TTL.
func envName(flagName string) string {
	return "ADMIT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// describeEnv names each flag's twin in its help text.
func describeEnv(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		if secretFlags[f.Name] {
			f.Usage += fmt.Sprintf(" (env %s, or %s_FILE naming a file holding it)", name, name)
		} else {
			f.Usage += fmt.Sprintf(" (env %s)", name)
		}
	})
}

// applyEnv sets each flag of twins that the command line did not set from
// its environment twin (an empty value counts as unset), parsed as the flag
// parses its argument. Errors name the variable.
func applyEnv(fs *flag.FlagSet, twins map[string]bool) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if !twins[f.Name] || given[f.Name] {
			return
		}
		name, v := envName(f.Name), os.Getenv(envName(f.Name))
		if path := os.Getenv(name + "_FILE"); secretFlags[f.Name] && path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s_FILE: %w", name, err))
				return
			}
			v = strings.TrimSpace(string(b))
		}
		if v == "" {
			return
		}
		if err := f.Value.Set(v); err != nil { // secrets are strings: they never fail here
			errs = append(errs, fmt.Errorf("%s=%q: %v: %s", name, v, err, expected(f)))
		}
	})
	return errors.Join(errs...)
}

// expected says what a flag's value looks like, for errors in its twin.
func expected(f *flag.Flag) string {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return "see admit serve --help"
	}
	switch g.Get().(type) {
	case time.Duration:
		return "want a duration such as 90s, 10m or 1h30m"
	case bool:
		return "want true or false"
	case int, int64, uint, uint64:
		return "want a whole number"
	}
	return "see admit serve --help"
}

// Validate checks the settings.
func (c *Config) Validate() error {
	var errs []error
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("--database-url must be empty (SQLite) or a postgres:// (or postgresql://) URL"))
	}
	if c.ReplicaURLs != "" && c.DatabaseURL == "" {
		errs = append(errs, errors.New("--database-replica-urls needs a PostgreSQL --database-url"))
	}
	if c.CacheTTL < 0 || c.TokenTTL <= 0 || c.ShutdownTimeout <= 0 || c.WorkerInterval <= 0 {
		errs = append(errs, errors.New("durations must be positive (--cache-ttl may be 0)"))
	}
	if c.HoldTTL < time.Minute || c.HoldTTL > 24*time.Hour {
		errs = append(errs, errors.New("--hold-ttl must be between 1m and 24h"))
	}
	if (c.StripeSecretKey == "") != (c.StripeWebhookKey == "") {
		errs = append(errs, errors.New("--stripe-secret-key and --stripe-webhook-secret go together"))
	}
	if c.DatabaseMaxConns < 1 {
		errs = append(errs, errors.New("--database-max-conns must be at least 1"))
	}
	return errors.Join(errs...)
}

// Replicas splits the replica list.
func (c *Config) Replicas() []string {
	var out []string
	for _, u := range strings.Split(c.ReplicaURLs, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// Store is the database the settings name.
func (c *Config) Store() store.Config {
	return store.Config{URL: c.DatabaseURL, DataDir: c.DataDir, ReplicaURLs: c.Replicas(), MaxConns: c.DatabaseMaxConns}
}

// Masked returns the settings for the start-up log, passwords hidden.
func (c *Config) Masked() map[string]any {
	replicas := c.Replicas()
	for i := range replicas {
		replicas[i] = redact(replicas[i])
	}
	return map[string]any{
		"addr": c.Addr, "data_dir": c.DataDir, "database_url": redact(c.DatabaseURL), "database_replica_urls": replicas,
		"database_max_conns": c.DatabaseMaxConns, "demo": c.Demo, "cache_ttl": c.CacheTTL.String(),
		"token_ttl": c.TokenTTL.String(), "log_level": c.LogLevel, "hold_ttl": c.HoldTTL.String(),
		"stripe": c.StripeSecretKey != "", "stripe_api_url": c.StripeAPIURL,
	}
}

func redact(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}
