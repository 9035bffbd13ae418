package web

import (
	"encoding/json"
	"math/big"
	"reflect"
	"testing"
)

type jsonItem struct {
	Quantity int     `json:"quantity"`
	Price    int64   `json:"price"`
	Ratio    float64 `json:"ratio"`
	Tags     []int   `json:"tags"`
}

func TestUnmarshalJSONTakesWholeFloats(t *testing.T) {
	for in, want := range map[string]jsonItem{
		`{"quantity":2.0,"price":1e3,"ratio":0.5,"tags":[1.0,-2E0]}`: {Quantity: 2, Price: 1000, Ratio: 0.5, Tags: []int{1, -2}},
		`{"quantity":3}`:                    {Quantity: 3},
		`{"price":9007199254740993.0}`:      {Price: 9007199254740993}, // beyond a float64's exact integers
		`{"price":-3.00E+1,"quantity":0.0}`: {Price: -30},
		`{"price":1200e-2}`:                 {Price: 12},
	} {
		var got jsonItem
		if err := unmarshalJSON([]byte(in), &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{`{"quantity":2.5}`, `{"quantity":1e400}`, `{"quantity":1e20}`, `{"quantity":"2"}`, `{"quantity":2.0`,
		`{"price":1.0000000000000001}`, `{"price":4503599627370496.5}`, `{"price":1e-400000}`, `{"price":9223372036854775808.0}`} {
		var got jsonItem
		if err := unmarshalJSON([]byte(in), &got); err == nil {
			t.Errorf("%s: decoded as %+v, want an error", in, got)
		}
	}
}

// FuzzUnmarshalJSON: whatever the body, decoding never panics, and a body
// encoding/json takes is decoded exactly as encoding/json does.
func FuzzUnmarshalJSON(f *testing.F) {
	for _, s := range []string{`{"quantity":2.0}`, `{"tags":[1e2,3.5]}`, `[1.0]`, `{"price":-0.0}`, `1e400`, `{"a":{"b":[2.000]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var std, ours jsonItem
		stdErr := json.Unmarshal(data, &std)
		err := unmarshalJSON(data, &ours)
		if stdErr == nil && (err != nil || !reflect.DeepEqual(std, ours)) {
			t.Fatalf("%q: encoding/json gives %+v, unmarshalJSON %+v, %v", data, std, ours, err)
		}
		var anyV any
		_ = unmarshalJSON(data, &anyV)
	})
}

// FuzzIntegerLiteral: a literal taken as an integer denotes exactly it.
func FuzzIntegerLiteral(f *testing.F) {
	for _, s := range []string{"2.0", "1e2", "-3.00E+1", "1.0000000000000001", "0.0e5", "12e-1", "9223372036854775807.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, lit string) {
		n, ok := integerLiteral(lit)
		if !ok || !json.Valid([]byte(lit)) {
			return // refused, or not a JSON number (the decoder gives only those)
		}
		exact, isNumber := new(big.Rat).SetString(lit) // cheap: integerLiteral bounds the exponent
		if !isNumber {
			t.Fatalf("%q is valid JSON and taken as %s, but is no number", lit, n)
		}
		if want, _ := new(big.Rat).SetString(n); exact.Cmp(want) != 0 {
			t.Fatalf("%s taken as %s", lit, n)
		}
	})
}
