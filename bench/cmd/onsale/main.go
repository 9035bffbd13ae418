// Command onsale is the load generator of bench/onsale: it sets up a hot
// onsale through admit's HTTP API, hammers POST /api/v1/orders from many
// concurrent clients, and checks the inventory afterwards. Standard library
// only.
//
//	onsale setup   -url U -admin E -organizer E -password P -state FILE
//	onsale run     -state FILE -c 64 -d 10s
//	onsale sellout -state FILE -c 64
//
// setup creates a city (admin), a venue and two published events with one
// paid ticket type each (organizer): the onsale type (-quantity, default
// 1,000,000) and the sell-out type (-sellout-quantity, default 1000); then it
// signs up -attendees attendees and gets their tokens. Everything run and
// sellout need is written to the state file.
//
// run: -c clients, client i using attendee token i mod n over its own
// keep-alive connection, each POSTing one-seat orders back to back for -d.
// When the time is up no new request starts, and the ones in flight are
// waited for, so that every order the server answered is counted. It prints
// one line "BENCH key=value ..." (latencies in microseconds, from sending
// the request to reading the whole response), then checks the ticket type's
// available seats: before − after must equal the 201s of this run, and
// quantity − after must equal the 201s of all runs so far (kept in the state
// file). A mismatch is an oversell (or a lost order) and exits with status 3.
//
// sellout: -c clients order 1..4 seats (random) of the sell-out type until
// a 409 says none are left (or -timeout); then the sum of accepted seats
// must be at most the quantity and equal quantity − available.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type State struct {
	URL             string   `json:"url"`
	Tokens          []string `json:"tokens"`
	EventID         string   `json:"event_id"`
	TicketTypeID    string   `json:"ticket_type_id"`
	Quantity        int64    `json:"quantity"`
	Accepted        int64    `json:"accepted"` // 201s of all runs so far
	SelloutEventID  string   `json:"sellout_event_id"`
	SelloutTypeID   string   `json:"sellout_ticket_type_id"`
	SelloutQuantity int64    `json:"sellout_quantity"`
}

func main() {
	if len(os.Args) < 2 {
		fatal("usage: onsale setup|run|sellout [flags]")
	}
	var err error
	switch os.Args[1] {
	case "setup":
		err = setup(os.Args[2:])
	case "run":
		err = run(os.Args[2:])
	case "sellout":
		err = sellout(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		var ce checkError
		if errors.As(err, &ce) {
			fmt.Fprintln(os.Stderr, "onsale: CHECK FAILED:", err)
			os.Exit(3)
		}
		fatal(err.Error())
	}
}

type checkError struct{ msg string }

func (e checkError) Error() string { return e.msg }

func fatal(msg string) {
	fmt.Fprintln(os.Stderr, "onsale:", msg)
	os.Exit(1)
}

func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			DisableCompression:  true,
			IdleConnTimeout:     time.Minute,
		},
	}
}

// call does one JSON request; out (if not nil) receives the decoded body of
// a 2xx answer.
func call(c *http.Client, method, url, token string, in, out any, want int) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, url, resp.StatusCode, want, truncate(raw, 400))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, url, err)
		}
	}
	return nil
}

func truncate(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

type idOnly struct {
	ID string `json:"id"`
}

func token(c *http.Client, base, email, password string) (string, error) {
	var t struct {
		Token string `json:"token"`
	}
	err := call(c, "POST", base+"/api/v1/auth/token", "", map[string]string{"email": email, "password": password}, &t, 200)
	return t.Token, err
}

func setup(args []string) error {
	fs := flag.NewFlagSet("setup", flag.ExitOnError)
	base := fs.String("url", "", "server base URL")
	admin := fs.String("admin", "", "admin email (exists)")
	organizer := fs.String("organizer", "", "organizer email (exists)")
	password := fs.String("password", "", "password of admin, organizer and the attendees created")
	attendees := fs.Int("attendees", 16, "attendee accounts to sign up")
	quantity := fs.Int64("quantity", 1_000_000, "seats of the onsale ticket type")
	selloutQty := fs.Int64("sellout-quantity", 1000, "seats of the sell-out ticket type")
	statePath := fs.String("state", "", "state file to write")
	fs.Parse(args)
	if *base == "" || *statePath == "" || *admin == "" || *organizer == "" || *password == "" {
		return errors.New("setup needs -url, -admin, -organizer, -password and -state")
	}
	c := newClient(8)
	adminTok, err := token(c, *base, *admin, *password)
	if err != nil {
		return err
	}
	orgTok, err := token(c, *base, *organizer, *password)
	if err != nil {
		return err
	}
	var city, venue idOnly
	if err := call(c, "POST", *base+"/api/v1/cities", adminTok,
		map[string]string{"name": "Onsale City", "country": "DE", "time_zone": "Europe/Berlin"}, &city, 201); err != nil {
		return err
	}
	if err := call(c, "POST", *base+"/api/v1/locations", orgTok,
		map[string]string{"city_id": city.ID, "name": "Onsale Arena"}, &venue, 201); err != nil {
		return err
	}
	start := time.Now().AddDate(0, 1, 0).Truncate(time.Hour).UTC()
	event := func(title string, qty int64) (string, string, error) {
		var e, tt idOnly
		if err := call(c, "POST", *base+"/api/v1/events", orgTok, map[string]any{
			"title": title, "city_id": city.ID, "location_id": venue.ID,
			"starts_at": start.Format(time.RFC3339), "ends_at": start.Add(3 * time.Hour).Format(time.RFC3339),
		}, &e, 201); err != nil {
			return "", "", err
		}
		if err := call(c, "POST", *base+"/api/v1/events/"+e.ID+"/ticket-types", orgTok, map[string]any{
			"name": "General admission", "price": map[string]any{"amount": 2500, "currency": "EUR"}, "quantity": qty,
		}, &tt, 201); err != nil {
			return "", "", err
		}
		if err := call(c, "POST", *base+"/api/v1/events/"+e.ID+"/publish", orgTok, nil, nil, 200); err != nil {
			return "", "", err
		}
		return e.ID, tt.ID, nil
	}
	s := State{URL: *base, Quantity: *quantity, SelloutQuantity: *selloutQty}
	if s.EventID, s.TicketTypeID, err = event("Hot Onsale", *quantity); err != nil {
		return err
	}
	if s.SelloutEventID, s.SelloutTypeID, err = event("Sell-out Show", *selloutQty); err != nil {
		return err
	}
	// Attendees: sign up and log in, 4 at a time (argon2 costs CPU).
	s.Tokens = make([]string, *attendees)
	errs := make([]error, *attendees)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range *attendees {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			email := fmt.Sprintf("fan%02d@onsale.example", i+1)
			if err := call(c, "POST", *base+"/api/v1/accounts", "",
				map[string]string{"email": email, "password": *password, "name": fmt.Sprintf("Fan %d", i+1)}, nil, 201); err != nil {
				errs[i] = err
				return
			}
			s.Tokens[i], errs[i] = token(c, *base, email, *password)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := saveState(*statePath, &s); err != nil {
		return err
	}
	fmt.Printf("event %s ticket type %s (%d seats); sell-out event %s ticket type %s (%d seats); %d attendees\n",
		s.EventID, s.TicketTypeID, s.Quantity, s.SelloutEventID, s.SelloutTypeID, s.SelloutQuantity, len(s.Tokens))
	return nil
}

func loadState(path string) (*State, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s State
	return &s, json.Unmarshal(raw, &s)
}

func saveState(path string, s *State) error {
	raw, _ := json.MarshalIndent(s, "", "  ")
	return os.WriteFile(path, raw, 0o600)
}

// available reads a ticket type's exact availability from GET /events/{id}.
func available(c *http.Client, base, eventID, typeID string) (int64, error) {
	var e struct {
		TicketTypes []struct {
			ID        string `json:"id"`
			Quantity  int64  `json:"quantity"`
			Available *int64 `json:"available"`
		} `json:"ticket_types"`
	}
	if err := call(c, "GET", base+"/api/v1/events/"+eventID, "", nil, &e, 200); err != nil {
		return 0, err
	}
	for _, t := range e.TicketTypes {
		if t.ID == typeID {
			if t.Available == nil {
				return 0, fmt.Errorf("GET /api/v1/events/%s: ticket type %s has no available field", eventID, typeID)
			}
			return *t.Available, nil
		}
	}
	return 0, fmt.Errorf("GET /api/v1/events/%s: no ticket type %s", eventID, typeID)
}

// result is one client's tally.
type result struct {
	lat      []time.Duration // every completed request
	status   map[int]int64
	seats    int64 // accepted seats (sellout)
	netErrs  int64
	firstBad string // body of the first unexpected answer
}

// order posts one order; it returns the status (0 on a transport error),
// the body and the latency.
func order(c *http.Client, base, token string, body []byte) (int, []byte, time.Duration, error) {
	req, _ := http.NewRequest("POST", base+"/api/v1/orders", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	t0 := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, time.Since(t0), err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return 0, nil, d, err
	}
	return resp.StatusCode, raw, d, nil
}

func orderBody(eventID, typeID string, qty int64) []byte {
	raw, _ := json.Marshal(map[string]any{"event_id": eventID, "items": []map[string]any{{"ticket_type_id": typeID, "quantity": qty}}})
	return raw
}

func pct(sorted []time.Duration, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.5) - 1
	i = min(max(i, 0), len(sorted)-1)
	return sorted[i].Microseconds()
}

func merge(rs []*result) (lat []time.Duration, status map[int]int64, netErrs, seats int64, firstBad string) {
	status = map[int]int64{}
	for _, r := range rs {
		lat = append(lat, r.lat...)
		for k, v := range r.status {
			status[k] += v
		}
		netErrs += r.netErrs
		seats += r.seats
		if firstBad == "" {
			firstBad = r.firstBad
		}
	}
	slices.Sort(lat)
	return
}

func statusList(status map[int]int64) string {
	keys := make([]int, 0, len(status))
	for k := range status {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d:%d", k, status[k])
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// cpuMicros is the CPU time (user + system) this process has used.
func cpuMicros() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano()/1000 + ru.Stime.Nano()/1000
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	statePath := fs.String("state", "", "state file from setup")
	conns := fs.Int("c", 64, "concurrent clients (one connection each)")
	dur := fs.Duration("d", 10*time.Second, "duration")
	fs.Parse(args)
	s, err := loadState(*statePath)
	if err != nil {
		return err
	}
	c := newClient(*conns)
	before, err := available(c, s.URL, s.EventID, s.TicketTypeID)
	if err != nil {
		return err
	}
	body := orderBody(s.EventID, s.TicketTypeID, 1)
	results := make([]*result, *conns)
	var wg sync.WaitGroup
	var stop atomic.Bool
	start := time.Now()
	for i := range *conns {
		r := &result{status: map[int]int64{}, lat: make([]time.Duration, 0, 4096)}
		results[i] = r
		tok := s.Tokens[i%len(s.Tokens)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				st, raw, d, err := order(c, s.URL, tok, body)
				if err != nil {
					r.netErrs++
					if r.firstBad == "" {
						r.firstBad = "transport: " + err.Error()
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				r.lat = append(r.lat, d)
				r.status[st]++
				if st != 201 && st != 409 && r.firstBad == "" {
					r.firstBad = fmt.Sprintf("%d %s", st, truncate(raw, 300))
				}
			}
		}()
	}
	time.Sleep(*dur)
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(start)
	lat, status, netErrs, _, firstBad := merge(results)
	ok := status[201]
	var other, s5xx int64
	for k, v := range status {
		if k != 201 && k != 409 {
			other += v
		}
		if k >= 500 {
			s5xx += v
		}
	}
	after, err := available(c, s.URL, s.EventID, s.TicketTypeID)
	if err != nil {
		return err
	}
	s.Accepted += ok
	// oversold: seats gone from the ticket type beyond the orders accepted
	// (positive: oversold or an order lost; negative: an accepted order
	// without its seat).
	oversold := (s.Quantity - after) - s.Accepted
	fmt.Printf("BENCH orders=%d ok=%d conflict=%d other=%d err5xx=%d neterr=%d duration_us=%d orders_per_s=%.1f req_per_s=%.1f "+
		"p50_us=%d p90_us=%d p99_us=%d max_us=%d before=%d after=%d accepted_total=%d quantity=%d oversold=%d client_cpu_us=%d statuses=%s\n",
		len(lat), ok, status[409], other, s5xx, netErrs, elapsed.Microseconds(),
		float64(ok)/elapsed.Seconds(), float64(len(lat))/elapsed.Seconds(),
		pct(lat, 50), pct(lat, 90), pct(lat, 99), pct(lat, 100), before, after, s.Accepted, s.Quantity, oversold, cpuMicros(), statusList(status))
	if firstBad != "" {
		fmt.Printf("FIRST-UNEXPECTED %s\n", firstBad)
	}
	if err := saveState(*statePath, s); err != nil {
		return err
	}
	var problems []string
	if before-after != ok {
		problems = append(problems, fmt.Sprintf("available went from %d to %d (-%d) but %d orders were accepted", before, after, before-after, ok))
	}
	if s.Quantity-after != s.Accepted {
		problems = append(problems, fmt.Sprintf("quantity %d - available %d = %d seats taken, but %d orders were accepted over all runs",
			s.Quantity, after, s.Quantity-after, s.Accepted))
	}
	if after < 0 {
		problems = append(problems, fmt.Sprintf("available is negative: %d", after))
	}
	if len(problems) > 0 {
		return checkError{strings.Join(problems, "; ")}
	}
	return nil
}

func sellout(args []string) error {
	fs := flag.NewFlagSet("sellout", flag.ExitOnError)
	statePath := fs.String("state", "", "state file from setup")
	conns := fs.Int("c", 64, "concurrent clients")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after")
	fs.Parse(args)
	s, err := loadState(*statePath)
	if err != nil {
		return err
	}
	c := newClient(*conns)
	before, err := available(c, s.URL, s.SelloutEventID, s.SelloutTypeID)
	if err != nil {
		return err
	}
	if before != s.SelloutQuantity {
		return fmt.Errorf("sell-out ticket type already sold from: %d of %d available", before, s.SelloutQuantity)
	}
	bodies := make([][]byte, 5)
	for q := int64(1); q <= 4; q++ {
		bodies[q] = orderBody(s.SelloutEventID, s.SelloutTypeID, q)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var soldOut atomic.Bool
	results := make([]*result, *conns)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range *conns {
		r := &result{status: map[int]int64{}}
		results[i] = r
		tok := s.Tokens[i%len(s.Tokens)]
		rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !soldOut.Load() && ctx.Err() == nil {
				q := rng.Int64N(4) + 1
				st, raw, d, err := order(c, s.URL, tok, bodies[q])
				if err != nil {
					r.netErrs++
					if r.firstBad == "" {
						r.firstBad = "transport: " + err.Error()
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				r.lat = append(r.lat, d)
				r.status[st]++
				switch st {
				case 201:
					r.seats += q
				case 409:
					var p struct {
						Type      string `json:"type"`
						Available *int64 `json:"available"`
					}
					if json.Unmarshal(raw, &p) == nil && p.Available != nil && *p.Available == 0 {
						soldOut.Store(true)
					}
				default:
					if r.firstBad == "" {
						r.firstBad = fmt.Sprintf("%d %s", st, truncate(raw, 300))
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	lat, status, netErrs, seats, firstBad := merge(results)
	after, err := available(c, s.URL, s.SelloutEventID, s.SelloutTypeID)
	if err != nil {
		return err
	}
	var other, s5xx int64
	for k, v := range status {
		if k != 201 && k != 409 {
			other += v
		}
		if k >= 500 {
			s5xx += v
		}
	}
	fmt.Printf("SELLOUT quantity=%d accepted_seats=%d orders_ok=%d conflict=%d other=%d err5xx=%d neterr=%d available_after=%d sold_out=%t duration_us=%d p50_us=%d p99_us=%d statuses=%s\n",
		s.SelloutQuantity, seats, status[201], status[409], other, s5xx, netErrs, after, soldOut.Load(), elapsed.Microseconds(),
		pct(lat, 50), pct(lat, 99), statusList(status))
	if firstBad != "" {
		fmt.Printf("FIRST-UNEXPECTED %s\n", firstBad)
	}
	var problems []string
	if seats > s.SelloutQuantity {
		problems = append(problems, fmt.Sprintf("OVERSOLD: %d seats accepted for %d", seats, s.SelloutQuantity))
	}
	if seats != s.SelloutQuantity-after {
		problems = append(problems, fmt.Sprintf("accepted seats %d != quantity %d - available %d", seats, s.SelloutQuantity, after))
	}
	if !soldOut.Load() {
		problems = append(problems, fmt.Sprintf("not sold out within %s (%d available)", *timeout, after))
	}
	if len(problems) > 0 {
		return checkError{strings.Join(problems, "; ")}
	}
	return nil
}
