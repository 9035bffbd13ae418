package api

import (
	"strconv"
	"strings"
	"time"

	"github.com/admit-events/admit"
)

// The query parsers turn strings from the URL into filters; every bad value
// is a 400 naming its parameter. They are fuzzed (params_test.go).

// EventQuery is the raw query of GET /api/v1/events.
type EventQuery struct {
	City         string `query:"city" doc:"City id"`
	Location     string `query:"location" doc:"Location (venue) id"`
	Country      string `query:"country" doc:"ISO 3166-1 alpha-2 code"`
	Category     string `query:"category" doc:"Category, case-insensitive"`
	Q            string `query:"q" doc:"Full-text search over title, description, venue and city; every word must match (as a prefix)"`
	From         string `query:"from" doc:"Only events starting on or after this date (YYYY-MM-DD, in the event's zone)"`
	To           string `query:"to" doc:"Only events starting on or before this date (YYYY-MM-DD, in the event's zone)"`
	MinPrice     string `query:"min_price" doc:"Only events with a ticket type at least this price, in minor units of currency"`
	MaxPrice     string `query:"max_price" doc:"Only events with a ticket type at most this price, in minor units of currency"`
	Currency     string `query:"currency" doc:"ISO 4217 code; required with min_price or max_price"`
	Free         string `query:"free" doc:"true: only events with a free ticket type"`
	Sort         string `query:"sort" doc:"starts_at (default) or popularity"`
	Organization string `query:"organization_id" doc:"Only this organization's events; its organizers also see drafts and past events"`
	PageQuery
}

// PageQuery is the paging part of a list query.
type PageQuery struct {
	Limit  string `query:"limit" doc:"Page size, 1 to 100 (default 20)"`
	Cursor string `query:"cursor" doc:"next_cursor of the previous page"`
}

// ParseEventQuery validates q into a filter.
func ParseEventQuery(q EventQuery) (admit.EventFilter, error) {
	var p admit.Problems
	f := admit.EventFilter{
		CityID: idParam(&p, "city", q.City), LocationID: idParam(&p, "location", q.Location),
		OrganizationID: idParam(&p, "organization_id", q.Organization),
		Category:       strings.TrimSpace(q.Category), Query: strings.TrimSpace(q.Q),
	}
	if q.Country != "" {
		f.Country = strings.ToUpper(q.Country)
		if len(f.Country) != 2 || strings.ToLower(f.Country) == f.Country {
			p.Add("query.country", "must be an ISO 3166-1 alpha-2 code such as DE")
		}
	}
	if len(f.Category) > 100 {
		p.Add("query.category", "must be at most 100 characters")
	}
	if len(f.Query) > 200 {
		p.Add("query.q", "must be at most 200 characters")
	}
	f.FromDate, f.ToDate = dateParam(&p, "from", q.From), dateParam(&p, "to", q.To)
	if f.FromDate != "" && f.ToDate != "" && f.ToDate < f.FromDate {
		p.Add("query.to", "must not be before from")
	}
	f.MinPrice, f.MaxPrice = amountParam(&p, "min_price", q.MinPrice), amountParam(&p, "max_price", q.MaxPrice)
	if f.MinPrice != nil && f.MaxPrice != nil && *f.MaxPrice < *f.MinPrice {
		p.Add("query.max_price", "must not be below min_price")
	}
	if q.Currency != "" {
		f.Currency = strings.ToUpper(q.Currency)
		if !admit.ValidCurrency(f.Currency) {
			p.Add("query.currency", "must be an ISO 4217 code such as EUR")
		}
	} else if f.MinPrice != nil || f.MaxPrice != nil {
		p.Add("query.currency", "is required with min_price and max_price: prices are compared in one currency")
	}
	switch q.Free {
	case "", "false":
	case "true":
		f.Free = true
	default:
		p.Add("query.free", "must be true or false")
	}
	switch q.Sort {
	case "", string(admit.SortStartsAt):
		f.Sort = admit.SortStartsAt
	case string(admit.SortPopularity):
		f.Sort = admit.SortPopularity
	default:
		p.Add("query.sort", "must be starts_at or popularity")
	}
	f.Page = pageParam(&p, q.PageQuery, string(f.Sort))
	return f, p.Err()
}

// ParsePage validates the paging parameters of a list ordered by sort.
func ParsePage(q PageQuery, sort string) (admit.Page, error) {
	var p admit.Problems
	page := pageParam(&p, q, sort)
	return page, p.Err()
}

func pageParam(p *admit.Problems, q PageQuery, sort string) admit.Page {
	page := admit.Page{Limit: admit.DefaultPageLimit}
	if q.Limit != "" {
		n, err := strconv.Atoi(q.Limit)
		if err != nil || n < 1 || n > admit.MaxPageLimit {
			p.Add("query.limit", "must be an integer from 1 to %d", admit.MaxPageLimit)
		}
		page.Limit = n
	}
	if q.Cursor != "" {
		c, err := admit.ParseCursor(q.Cursor, sort)
		if err != nil {
			p.Add("query.cursor", "is not a cursor returned by this list (with the same sort)")
		}
		page.Cursor = c
	}
	return page
}

// idParam accepts an id-shaped value; an id that exists nowhere simply matches nothing.
func idParam(p *admit.Problems, name, v string) string {
	if v != "" && !admit.ValidID(v) {
		p.Add("query."+name, "is not an id")
		return ""
	}
	return v
}

func dateParam(p *admit.Problems, name, v string) string {
	if v == "" {
		return ""
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		p.Add("query."+name, "must be a date as YYYY-MM-DD")
		return ""
	}
	return v
}

func amountParam(p *admit.Problems, name, v string) *int64 {
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > admit.MaxAmount {
		p.Add("query."+name, "must be a whole number of minor units from 0 to %d", int64(admit.MaxAmount))
		return nil
	}
	return &n
}
