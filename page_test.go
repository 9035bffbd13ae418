package admit_test

import (
	"testing"
	"unicode/utf8"

	"github.com/admit-events/admit"
)

func TestCursorRoundTrip(t *testing.T) {
	c := admit.Cursor{Sort: "starts_at", Value: "1700000000000000", ID: "evt_abc"}
	got, err := admit.ParseCursor(c.Encode(), "starts_at")
	if err != nil || *got != c {
		t.Fatalf("ParseCursor(Encode(%+v)) = %+v, %v", c, got, err)
	}
	if _, err := admit.ParseCursor(c.Encode(), "popularity"); admit.ErrorCode(err) != admit.EINVALID {
		t.Fatalf("a cursor of another sort was accepted: %v", err)
	}
}

func FuzzParseCursor(f *testing.F) {
	f.Add(admit.Cursor{Sort: "starts_at", Value: "1", ID: "evt_x"}.Encode(), "starts_at")
	f.Add("", "name")
	f.Add("YzEAbmFtZQBMaXNib24AY3R5X3g", "name")
	f.Add("%%%", "starts_at")
	f.Fuzz(func(t *testing.T, s, sort string) {
		c, err := admit.ParseCursor(s, sort)
		if err != nil {
			if admit.ErrorCode(err) != admit.EINVALID {
				t.Fatalf("ParseCursor error %v is not EINVALID", err)
			}
			return
		}
		if c.Sort != sort || !admit.ValidID(c.ID) || !utf8.ValidString(c.Value) {
			t.Fatalf("ParseCursor(%q, %q) = %+v", s, sort, c)
		}
		again, err := admit.ParseCursor(c.Encode(), sort)
		if err != nil || *again != *c {
			t.Fatalf("round trip of %+v gave %+v, %v", c, again, err)
		}
	})
}

func TestValidCurrency(t *testing.T) {
	for code, want := range map[string]bool{
		"EUR": true, "JPY": true, "KWD": true, "XOF": true, "XAF": true, "XCD": true,
		"eur": false, "EURO": false, "XYZ": false, "": false,
		"XXX": false, "XTS": false, "XAU": false, "XDR": false, // no currency, testing, gold, the IMF's unit
	} {
		if got := admit.ValidCurrency(code); got != want {
			t.Errorf("ValidCurrency(%q) = %v, want %v", code, got, want)
		}
	}
}
