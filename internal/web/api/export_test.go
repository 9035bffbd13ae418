package api_test

import (
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/web"
	"github.com/admit-events/admit/internal/web/api"
)

// anyToken lets every bearer token in as an organizer.
type anyToken struct{ admit.AccountService }

func (anyToken) Authenticate(context.Context, string) (*admit.User, error) {
	return &admit.User{ID: "usr_org", Role: admit.RoleOrganizer}, nil
}

type up struct{}

func (up) Ping(context.Context) error { return nil }

// slowExport is an event whose registrants come slowly, as from a database
// under load: rows gaps apart.
type slowExport struct {
	admit.OrderService
	rows int
	gap  time.Duration
}

func (slowExport) ListRegistrants(context.Context, string, admit.Page) ([]admit.Registrant, string, error) {
	return nil, "", nil
}

func (e slowExport) EachRegistrant(ctx context.Context, eventID string, fn func(admit.Registrant) error) error {
	for i := range e.rows {
		if i > 0 {
			time.Sleep(e.gap) // the database's pace, not a race: the download must take longer than the write timeout
		}
		if err := fn(admit.Registrant{TicketID: "tix_" + string(rune('a'+i)), AttendeeName: "A"}); err != nil {
			return err
		}
	}
	return nil
}

// TestExportsRunWhileTheyFlow: a CSV download that keeps flowing outlives
// the server's write timeout and its own stall limit, renewed row by row:
// set once, either would cut it off. The gaps model a slow database, with
// wide margins (a wake-up 500 ms late would be needed to fail). A client
// that stops reading is not tested: it takes more rows than the sockets
// buffer.
func TestExportsRunWhileTheyFlow(t *testing.T) {
	const stall = 600 * time.Millisecond
	api.SetExportPacing(t, 1, stall)
	flowing := slowExport{rows: 10, gap: stall / 6} // 1.5 stalls in all
	if rows, err := export(t, flowing, stall); err != nil || rows != 1+flowing.rows {
		t.Fatalf("a flowing download: %d CSV lines, %v; want a header and %d rows", rows, err, flowing.rows)
	}
}

// export downloads the CSV of e from a server whose write timeout is
// timeout, and returns how many CSV lines came.
func export(t *testing.T, e slowExport, timeout time.Duration) (int, error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := web.NewServer(web.Config{Logger: log, Accounts: anyToken{}, Database: up{}, WriteTimeout: timeout})
	api.Register(s.API(), api.Deps{Accounts: anyToken{}, Orders: e, Logger: log})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Shutdown(context.Background()) })

	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/api/v1/users?eid=evt_x", nil)
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Set("Accept", "text/csv")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	rows, err := csv.NewReader(res.Body).ReadAll()
	return len(rows), err
}
