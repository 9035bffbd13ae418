package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/admit-events/admit"
	"github.com/admit-events/admit/internal/testenv"
)

// TestBadInputGetsProblems sends what clients get wrong and checks each
// answer is a problem document with the right status, naming the field.
func TestBadInputGetsProblems(t *testing.T) {
	testenv.ForEachEngine(t, testBadInputGetsProblems)
}

func testBadInputGetsProblems(t *testing.T, e testenv.Engine) {
	s := startServer(t, e)
	c := buildCatalogue(t, s)
	order := func(item, attendees string) string {
		return `{"event_id":"` + c.event.ID + `","items":[` + item + `],"attendees":[` + attendees + `]}`
	}
	item := `{"ticket_type_id":"` + c.general.ID + `","quantity":1}`
	dear := c.ticketType(t, s, map[string]any{"name": "Dear", "price": map[string]any{"amount": 100_000_000_000, "currency": "EUR"}, "quantity": 10})
	big := `{"name":"` + strings.Repeat("x", 1<<20+10) + `"}`
	cases := []struct {
		name, method, path, token, body string
		status                          int
		location                        string
	}{
		{"unknown route", "GET", "/api/v1/nothing", "", "", 404, ""},
		{"unknown event", "GET", "/api/v1/events/evt_nothing", "", "", 404, ""},
		{"wrong method", "PUT", "/api/v1/events", "", "", 405, ""},
		{"malformed JSON", "POST", "/api/v1/cities", c.admin, `{"name":`, 400, "body"},
		{"unknown field", "POST", "/api/v1/cities", c.admin, `{"name":"Porto","country":"PT","time_zone":"Europe/Lisbon","mayor":"x"}`, 422, "body.mayor"},
		{"missing field", "POST", "/api/v1/cities", c.admin, `{"name":"Porto","country":"PT"}`, 422, "body.time_zone"},
		{"wrong type", "POST", "/api/v1/cities", c.admin, `{"name":1,"country":"PT","time_zone":"Europe/Lisbon"}`, 422, "body.name"},
		{"bad zone", "POST", "/api/v1/cities", c.admin, `{"name":"Porto","country":"PT","time_zone":"Mars/Olympus"}`, 422, "body.time_zone"},
		{"bad country", "POST", "/api/v1/cities", c.admin, `{"name":"Porto","country":"XX","time_zone":"Europe/Lisbon"}`, 422, "body.country"},
		{"duplicate city", "POST", "/api/v1/cities", c.admin, `{"name":"Lisbon","country":"PT","time_zone":"Europe/Lisbon"}`, 409, ""},
		{"body too large", "POST", "/api/v1/cities", c.admin, big, 413, ""},
		{"ends before start", "PATCH", "/api/v1/events/" + c.event.ID, c.organizer, `{"ends_at":"2000-01-01T00:00:00Z"}`, 422, "body.ends_at"},
		{"bad currency", "POST", "/api/v1/events/" + c.event.ID + "/ticket-types", c.organizer, `{"name":"x","price":{"amount":1,"currency":"EURO"},"quantity":1}`, 422, "body.price.currency"},
		{"negative price", "POST", "/api/v1/events/" + c.event.ID + "/ticket-types", c.organizer, `{"name":"x","price":{"amount":-1,"currency":"EUR"},"quantity":1}`, 422, "body.price.amount"},
		{"zero max per order", "POST", "/api/v1/events/" + c.event.ID + "/ticket-types", c.organizer, `{"name":"x","price":{"amount":1,"currency":"EUR"},"quantity":1,"max_per_order":0}`, 422, "body.max_per_order"},
		{"zero min per order", "POST", "/api/v1/events/" + c.event.ID + "/ticket-types", c.organizer, `{"name":"x","price":{"amount":1,"currency":"EUR"},"quantity":1,"min_per_order":0}`, 422, "body.min_per_order"},
		{"empty path segment", "POST", "/api/v1/tickets//cancel", c.attendee, "", 404, ""},
		{"dot path segment", "GET", "/api/v1/events/./" + c.event.ID, "", "", 404, ""},
		{"max below min", "POST", "/api/v1/events/" + c.event.ID + "/ticket-types", c.organizer, `{"name":"x","price":{"amount":1,"currency":"EUR"},"quantity":1,"min_per_order":5,"max_per_order":2}`, 422, "body.max_per_order"},
		{"bad limit", "GET", "/api/v1/events?limit=1000", "", "", 400, "query.limit"},
		{"bad cursor", "GET", "/api/v1/events?cursor=%00%01", "", "", 400, "query.cursor"},
		{"bad sort", "GET", "/api/v1/events?sort=price", "", "", 400, "query.sort"},
		{"bad date", "GET", "/api/v1/events?from=tomorrow", "", "", 400, "query.from"},
		{"to before from", "GET", "/api/v1/events?from=2030-02-01&to=2030-01-01", "", "", 400, "query.to"},
		{"price without currency", "GET", "/api/v1/events?min_price=100", "", "", 400, "query.currency"},
		{"bad price", "GET", "/api/v1/events?currency=EUR&max_price=-5", "", "", 400, "query.max_price"},
		{"bad free", "GET", "/api/v1/events?free=maybe", "", "", 400, "query.free"},
		{"bad country filter", "GET", "/api/v1/events?country=Portugal", "", "", 400, "query.country"},
		{"no words", "GET", "/api/v1/events?q=%21%21", "", "", 400, "query.q"},
		{"bad city limit", "GET", "/api/v1/cities?limit=0", "", "", 400, "query.limit"},
		{"bad location cursor", "GET", "/api/v1/locations?cursor=abc", "", "", 400, "query.cursor"},
		{"cursor not UTF-8", "GET", "/api/v1/locations?cursor=" + admit.Cursor{Sort: "name", Value: "\xff", ID: "loc_x"}.Encode(), "", "", 400, "query.cursor"},
		{"cursor with a made-up id", "GET", "/api/v1/me/tickets?cursor=" + admit.Cursor{Sort: "order", Value: "", ID: "\xff"}.Encode(), c.attendee, "", 400, "query.cursor"},
		{"cursor not a number", "GET", "/api/v1/me/orders?cursor=" + admit.Cursor{Sort: "created", Value: "soon", ID: "ord_x"}.Encode(), c.attendee, "", 400, "query.cursor"},
		{"bad scheme", "GET", "/api/v1/me", "", "", 401, ""},
		{"not an event id", "POST", "/api/v1/orders", c.attendee, `{"event_id":"\u00ff\u00fe","items":[` + item + `]}`, 422, "body.event_id"},
		{"not a ticket type id", "POST", "/api/v1/orders", c.attendee, order(`{"ticket_type_id":"TT 1","quantity":1}`, ""), 422, "body.items[0].ticket_type_id"},
		{"NUL in an attendee", "POST", "/api/v1/orders", c.attendee, order(item, `{"name":"a\u0000b","email":"a@example.com"}`), 422, "body.attendees[0].name"},
		{"control character in an email", "POST", "/api/v1/orders", c.attendee, order(item, `{"name":"A","email":"a\u0007@example.com"}`), 422, "body.attendees[0].email"},
		{"negative quantity", "POST", "/api/v1/orders", c.attendee, order(`{"ticket_type_id":"`+c.general.ID+`","quantity":-1}`, ""), 422, "body.items[0].quantity"},
		{"fractional quantity", "POST", "/api/v1/orders", c.attendee, order(`{"ticket_type_id":"`+c.general.ID+`","quantity":1.5}`, ""), 422, "body.items[0].quantity"},
		{"float quantity", "POST", "/api/v1/orders", c.attendee, order(`{"ticket_type_id":"`+c.general.ID+`","quantity":1},{"ticket_type_id":"`+c.general.ID+`","quantity":2.5}`, ""), 422, "body.items[1].quantity"},
		{"huge quantity", "POST", "/api/v1/orders", c.attendee, order(`{"ticket_type_id":"`+c.general.ID+`","quantity":1e400}`, ""), 400, "body"},
		{"total too large", "POST", "/api/v1/orders", c.attendee, order(`{"ticket_type_id":"`+dear.ID+`","quantity":2}`, ""), 422, "body.items"},
		{"NUL in a name", "POST", "/api/v1/accounts", "", `{"email":"nul@example.com","password":"correct horse battery","name":"a\u0000b"}`, 422, "body.name"},
		{"NUL in a login", "POST", "/api/v1/auth/token", "", `{"email":"nul\u0000@example.com","password":"correct horse battery"}`, 401, ""},
		{"NUL in an id", "GET", "/api/v1/orders/ord%00x", c.attendee, "", 400, "path.id"},
		{"not UTF-8 in an id", "GET", "/api/v1/events/e%ff", "", "", 400, "path.id"},
		{"NUL in an id to cancel", "POST", "/api/v1/orders/ord%00x/cancel", c.attendee, "", 400, "path.id"},
		{"long id", "GET", "/api/v1/orders/" + strings.Repeat("x", 5000), c.attendee, "", 400, "path.id"},
		{"fractional hold", "PATCH", "/api/v1/events/" + c.event.ID, c.organizer, `{"hold_minutes":1.5}`, 422, "body.hold_minutes"},
		{"string hold", "PATCH", "/api/v1/events/" + c.event.ID, c.organizer, `{"hold_minutes":"10"}`, 422, "body.hold_minutes"},
		{"line break in an attendee", "POST", "/api/v1/orders", c.attendee, order(item, `{"name":"a\nb","email":"a@example.com"}`), 422, "body.attendees[0].name"},
		{"display name as an email", "POST", "/api/v1/orders", c.attendee, order(item, `{"name":"Bob","email":"Bob <bob@example.com>"}`), 422, "body.attendees[0].email"},
		{"display name as an account email", "POST", "/api/v1/accounts", "", `{"email":"Eve <eve@example.com>","password":"correct horse battery","name":"Eve"}`, 422, "body.email"},
		{"fractional hold on create", "POST", "/api/v1/events", c.organizer, `{"title":"x","city_id":"` + c.city.ID + `","location_id":"` + c.venue.ID + `","starts_at":"2040-01-01T10:00:00Z","ends_at":"2040-01-01T12:00:00Z","hold_minutes":1.5}`, 422, "body.hold_minutes"},
		{"hold of 0 minutes on create", "POST", "/api/v1/events", c.organizer, `{"title":"x","city_id":"` + c.city.ID + `","location_id":"` + c.venue.ID + `","starts_at":"2040-01-01T10:00:00Z","ends_at":"2040-01-01T12:00:00Z","hold_minutes":0}`, 422, "body.hold_minutes"},
		{"fractional quantity of a ticket type", "POST", "/api/v1/events/" + c.event.ID + "/ticket-types", c.organizer, `{"name":"x","price":{"amount":1,"currency":"EUR"},"quantity":10.5}`, 422, "body.quantity"},
		{"bad and missing eid", "GET", "/api/v1/users?eid=%00", c.organizer, "", 400, "query.eid"},
		{"bad order status", "GET", "/api/v1/events/" + c.event.ID + "/orders?status=open", c.organizer, "", 400, "query.status"},
		{"refund cursor on orders", "GET", "/api/v1/events/" + c.event.ID + "/orders?cursor=" + admit.Cursor{Sort: admit.RefundSort, Value: "1", ID: "ref_x"}.Encode(), c.organizer, "", 400, "query.cursor"},
		{"bad refund status", "GET", "/api/v1/events/" + c.event.ID + "/refunds?status=owed", c.organizer, "", 400, "query.status"},
		{"bad refund cursor", "GET", "/api/v1/events/" + c.event.ID + "/refunds?cursor=" + admit.Cursor{Sort: admit.RefundSort, Value: "soon", ID: "ref_x"}.Encode(), c.organizer, "", 400, "query.cursor"},
		{"order cursor on refunds", "GET", "/api/v1/events/" + c.event.ID + "/refunds?cursor=" + admit.Cursor{Sort: "created", Value: "1", ID: "ord_x"}.Encode(), c.organizer, "", 400, "query.cursor"},
		{"refunds of an unknown event", "GET", "/api/v1/events/evt_nothing/refunds", c.organizer, "", 404, ""},
		{"unknown refund", "POST", "/api/v1/refunds/ref_nothing/mark-refunded", c.organizer, "", 404, ""},
		{"NUL in a refund id", "POST", "/api/v1/refunds/ref%00x/mark-refunded", c.organizer, "", 400, "path.id"},
		{"hold of 0 minutes", "PATCH", "/api/v1/events/" + c.event.ID, c.organizer, `{"hold_minutes":0}`, 422, "body.hold_minutes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r response
			if tc.name == "bad scheme" {
				r = s.call(tc.method, tc.path, "", nil, "Authorization", "Basic dXNlcjpwYXNz")
			} else {
				var body any
				if tc.body != "" {
					body = tc.body
				}
				r = s.call(tc.method, tc.path, tc.token, body)
			}
			p := r.wantProblem(t, tc.status, tc.location)
			if tc.body == "" && strings.Contains(p.Detail, "body") {
				t.Errorf("a request without a body is told about its body: %q", p.Detail)
			}
			if tc.status == http.StatusMethodNotAllowed && r.Header.Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		})
	}
}

// TestWholeFloatsAreIntegers: 2.0 is an integer in JSON Schema, so fields
// the OpenAPI document types as integers take it (as Python clients write
// it); 2.5 is refused (TestBadInputGetsProblems).
func TestWholeFloatsAreIntegers(t *testing.T) {
	s := startServer(t, testenv.Engine{Name: "sqlite", DataDir: t.TempDir()})
	c := buildCatalogue(t, s)
	var tt admit.TicketType
	s.call("POST", "/api/v1/events/"+c.event.ID+"/ticket-types", c.organizer,
		`{"name":"Floats","price":{"amount":2500.0,"currency":"EUR"},"quantity":1e1,"max_per_order":4.0}`).want(t, 201).decode(t, &tt)
	if tt.Quantity != 10 || tt.Price.Amount != 2500 || tt.MaxPerOrder != 4 {
		t.Fatalf("ticket type from whole floats: %+v", tt)
	}
	var o admit.Order
	s.call("POST", "/api/v1/orders", c.attendee, `{"event_id":"`+c.event.ID+`","items":[{"ticket_type_id":"`+tt.ID+`","quantity":2.0}]}`).
		want(t, 201).decode(t, &o)
	if o.Items[0].Quantity != 2 || o.Total.Amount != 5000 {
		t.Fatalf("order of 2.0 tickets: %+v", o)
	}
	p := s.call("POST", "/api/v1/orders", c.attendee, `{"event_id":"`+c.event.ID+`","items":[{"ticket_type_id":"`+tt.ID+`","quantity":1e400}]}`).
		wantProblem(t, 400, "body")
	if !strings.Contains(p.Detail, "number") {
		t.Fatalf("a number out of range is told %q", p.Detail)
	}
}

func TestPatchIsPartial(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := startServer(t, e)
		c := buildCatalogue(t, s)
		var got struct {
			Title, Description, Category string
			Tags                         []string
		}
		s.call("PATCH", "/api/v1/events/"+c.event.ID, c.organizer, map[string]any{"title": "Renamed"}).want(t, 200).decode(t, &got)
		if got.Title != "Renamed" || got.Description != c.event.Description || got.Category != c.event.Category || len(got.Tags) != 1 {
			t.Fatalf("PATCH title changed more than the title: %+v", got)
		}
	})
}

func TestTicketTypeRulesOnPublishedAndCancelledEvents(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := startServer(t, e)
		c := buildCatalogue(t, s)
		tt := "/api/v1/events/" + c.event.ID + "/ticket-types/" + c.general.ID
		s.call("DELETE", tt, c.organizer, nil).wantProblem(t, 409, "") // the only one of a published event
		s.call("POST", "/api/v1/events/"+c.event.ID+"/cancel", c.organizer, nil).want(t, 200)
		s.call("PATCH", tt, c.organizer, map[string]any{"quantity": 5}).wantProblem(t, 409, "")
	})
}

// TestRequestBodyEncodings: media types are case-insensitive; a body in
// another charset than UTF-8 or under a content coding is refused with 415
// before it is parsed, and nothing is created.
func TestRequestBodyEncodings(t *testing.T) {
	testenv.ForEachEngine(t, func(t *testing.T, e testenv.Engine) {
		s := startServer(t, e)
		c := buildCatalogue(t, s)
		body := orderBody(c.event.ID, c.general.ID, 1)
		for _, ct := range []string{"APPLICATION/JSON", "Application/Json; Charset=UTF-8", "application/json;charset=us-ascii"} {
			s.call("POST", "/api/v1/orders", c.attendee, body, "Content-Type", ct).want(t, 201)
		}
		// Without a body, the headers about one do not matter.
		s.call("GET", "/api/v1/me/orders", c.attendee, nil, "Content-Type", "text/plain; charset=latin1", "Content-Encoding", "gzip").want(t, 200)
		refused := [][]string{
			{"Content-Type", "application/json; charset=latin1"},
			{"Content-Type", "application/json; charset="},
			{"Content-Type", "text/plain"},
			{"Content-Encoding", "gzip"},
		}
		for _, h := range refused {
			s.call("POST", "/api/v1/orders", c.attendee, body, h...).wantProblem(t, 415, "")
		}
		var mine struct{ Items []admit.Order }
		s.call("GET", "/api/v1/me/orders", c.attendee, nil).want(t, 200).decode(t, &mine)
		if len(mine.Items) != 3 {
			t.Fatalf("%d orders, want the 3 accepted", len(mine.Items))
		}
	})
}
