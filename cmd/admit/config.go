package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
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
func (c *Config) bindStorage(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", env("ADMIT_DATA_DIR", "./admit-data"), "directory of the embedded SQLite database (env ADMIT_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", envSecret("ADMIT_DATABASE_URL", ""), "empty: embedded SQLite in the data dir; postgres://user@host/db: PostgreSQL (env ADMIT_DATABASE_URL, or ADMIT_DATABASE_URL_FILE naming a file holding it)")
	fs.StringVar(&c.ReplicaURLs, "database-replica-urls", envSecret("ADMIT_DATABASE_REPLICA_URLS", ""), "comma-separated PostgreSQL read replicas for lag-tolerant catalogue reads (env ADMIT_DATABASE_REPLICA_URLS)")
	fs.IntVar(&c.DatabaseMaxConns, "database-max-conns", envInt("ADMIT_DATABASE_MAX_CONNS", 8), "PostgreSQL connections per pool in this process (env ADMIT_DATABASE_MAX_CONNS)")
	fs.StringVar(&c.LogLevel, "log-level", env("ADMIT_LOG_LEVEL", "info"), "debug, info, warn or error (env ADMIT_LOG_LEVEL)")
}

// bindServe adds the flags of admit serve.
func (c *Config) bindServe(fs *flag.FlagSet) {
	c.bindStorage(fs)
	fs.StringVar(&c.Addr, "addr", env("ADMIT_ADDR", "127.0.0.1:8080"), "host:port to listen on (env ADMIT_ADDR)")
	fs.BoolVar(&c.Demo, "demo", envBool("ADMIT_DEMO", false), "load a demo catalogue into an empty database and print its accounts (env ADMIT_DEMO)")
	fs.DurationVar(&c.CacheTTL, "cache-ttl", envDuration("ADMIT_CACHE_TTL", 5*time.Second), "how long public catalogue lists are cached in process; 0 disables the cache (env ADMIT_CACHE_TTL)")
	fs.DurationVar(&c.TokenTTL, "token-ttl", envDuration("ADMIT_TOKEN_TTL", 30*24*time.Hour), "lifetime of bearer tokens (env ADMIT_TOKEN_TTL)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", envDuration("ADMIT_SHUTDOWN_TIMEOUT", 20*time.Second), "how long SIGTERM waits for in-flight requests (env ADMIT_SHUTDOWN_TIMEOUT)")
	fs.BoolVar(&c.LogRequests, "log-requests", envBool("ADMIT_LOG_REQUESTS", true), "log one line per HTTP request (env ADMIT_LOG_REQUESTS)")
	fs.DurationVar(&c.HoldTTL, "hold-ttl", envDuration("ADMIT_HOLD_TTL", 10*time.Minute), "how long an unpaid order holds its seats, for events that do not set hold_minutes (env ADMIT_HOLD_TTL)")
	fs.DurationVar(&c.WorkerInterval, "worker-interval", envDuration("ADMIT_WORKER_INTERVAL", time.Second), "how often background workers look for work: outbox deliveries, refunds, lapsed holds (env ADMIT_WORKER_INTERVAL)")
	fs.StringVar(&c.StripeSecretKey, "stripe-secret-key", envSecret("ADMIT_STRIPE_SECRET_KEY", ""), "Stripe secret key sk_…; empty disables card payments (env ADMIT_STRIPE_SECRET_KEY or ADMIT_STRIPE_SECRET_KEY_FILE)")
	fs.StringVar(&c.StripeWebhookKey, "stripe-webhook-secret", envSecret("ADMIT_STRIPE_WEBHOOK_SECRET", ""), "Stripe webhook signing secret whsec_… (env ADMIT_STRIPE_WEBHOOK_SECRET or ADMIT_STRIPE_WEBHOOK_SECRET_FILE)")
	fs.StringVar(&c.StripeAPIURL, "stripe-api-url", env("ADMIT_STRIPE_API_URL", ""), "Stripe API base URL; empty is Stripe's own (tests point it at stripe-mock) (env ADMIT_STRIPE_API_URL)")
}

// Validate checks the settings.
func (c *Config) Validate() error {
	var errs []error
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("--database-url must be empty (SQLite) or a postgres:// URL"))
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

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// envSecret reads NAME, or the file named by NAME_FILE (for secrets kept out
// of the environment).
func envSecret(name, def string) string {
	if path := os.Getenv(name + "_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "admit: %s_FILE: %v\n", name, err)
			os.Exit(2)
		}
		return strings.TrimSpace(string(b))
	}
	return env(name, def)
}

func envInt(name string, def int) int {
	var n int
	if v := os.Getenv(name); v != "" {
		if _, err := fmt.Sscan(v, &n); err == nil {
			return n
		}
		fmt.Fprintf(os.Stderr, "admit: %s=%q is not a number\n", name, v)
		os.Exit(2)
	}
	return def
}

func envBool(name string, def bool) bool {
	switch strings.ToLower(os.Getenv(name)) {
	case "":
		return def
	case "1", "true", "yes":
		return true
	case "0", "false", "no":
		return false
	}
	fmt.Fprintf(os.Stderr, "admit: %s must be true or false\n", name)
	os.Exit(2)
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			fmt.Fprintf(os.Stderr, "admit: %s=%q is not a duration such as 5s\n", name, v)
			os.Exit(2)
		}
		return d
	}
	return def
}
