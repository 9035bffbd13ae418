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

// TestLongExportOutlivesTheWriteTimeout: a CSV download that keeps
// flowing is not cut off by the server's write timeout.
func TestLongExportOutlivesTheWriteTimeout(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	const timeout = 300 * time.Millisecond
	s := web.NewServer(web.Config{Logger: log, Accounts: anyToken{}, Database: up{}, WriteTimeout: timeout})
	export := slowExport{rows: 5, gap: timeout / 2} // 600 ms in all
	api.Register(s.API(), api.Deps{Accounts: anyToken{}, Orders: export, Logger: log})
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
		t.Fatal(err)
	}
	defer res.Body.Close()
	rows, err := csv.NewReader(res.Body).ReadAll()
	if err != nil || res.StatusCode != 200 || len(rows) != 1+export.rows {
		t.Fatalf("status %d, %d CSV lines (%v); want 200 and a header plus %d rows", res.StatusCode, len(rows), err, export.rows)
	}
}
