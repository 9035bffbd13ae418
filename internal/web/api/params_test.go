package api

import (
	"testing"

	"github.com/admit-events/admit"
)

func TestParseEventQuery(t *testing.T) {
	f, err := ParseEventQuery(EventQuery{City: "cty_a", Country: "de", MinPrice: "100", MaxPrice: "900", Currency: "eur",
		Free: "true", Sort: "popularity", From: "2030-01-01", To: "2030-01-31", PageQuery: PageQuery{Limit: "5"}})
	if err != nil {
		t.Fatal(err)
	}
	if f.Country != "DE" || f.Currency != "EUR" || *f.MinPrice != 100 || *f.MaxPrice != 900 || !f.Free ||
		f.Sort != admit.SortPopularity || f.Page.Limit != 5 || f.FromDate != "2030-01-01" {
		t.Fatalf("parsed %+v", f)
	}
	if f, _ := ParseEventQuery(EventQuery{}); f.Page.Limit != admit.DefaultPageLimit || f.Sort != admit.SortStartsAt {
		t.Fatalf("defaults: %+v", f)
	}
}

// FuzzParseEventQuery: any query gives a filter within bounds or a 400
// naming query parameters; never a panic.
func FuzzParseEventQuery(f *testing.F) {
	f.Add("cty_x", "DE", "100", "200", "EUR", "true", "starts_at", "2030-01-01", "2030-12-31", "20", "")
	f.Add("", "", "-1", "x", "eur", "yes", "price", "2030-13-01", "", "0", "!!")
	f.Add("a b", "\x00", "99999999999999999999", "", "", "", "popularity", "", "", "101", admit.Cursor{Sort: "popularity", Value: "x", ID: "y"}.Encode())
	f.Fuzz(func(t *testing.T, city, country, minP, maxP, currency, free, sort, from, to, limit, cursor string) {
		flt, err := ParseEventQuery(EventQuery{City: city, Country: country, MinPrice: minP, MaxPrice: maxP, Currency: currency,
			Free: free, Sort: sort, From: from, To: to, PageQuery: PageQuery{Limit: limit, Cursor: cursor}})
		if err != nil {
			e, ok := err.(*admit.Error)
			if !ok || e.Code != admit.EINVALID || len(e.Fields) == 0 {
				t.Fatalf("error %v is not an EINVALID naming fields", err)
			}
			for _, fe := range e.Fields {
				if len(fe.Location) < 7 || fe.Location[:6] != "query." {
					t.Fatalf("error names %q, not a query parameter", fe.Location)
				}
			}
			return
		}
		if flt.Page.Limit < 1 || flt.Page.Limit > admit.MaxPageLimit {
			t.Fatalf("limit %d out of bounds", flt.Page.Limit)
		}
		if (flt.MinPrice != nil || flt.MaxPrice != nil) && !admit.ValidCurrency(flt.Currency) {
			t.Fatalf("price filter without a valid currency: %+v", flt)
		}
		if flt.Sort != admit.SortStartsAt && flt.Sort != admit.SortPopularity {
			t.Fatalf("sort %q", flt.Sort)
		}
	})
}
