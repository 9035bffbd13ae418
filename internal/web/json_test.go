package web

import (
	"encoding/json"
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
		`{"quantity":3}`: {Quantity: 3},
	} {
		var got jsonItem
		if err := unmarshalJSON([]byte(in), &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{`{"quantity":2.5}`, `{"quantity":1e400}`, `{"quantity":1e20}`, `{"quantity":"2"}`, `{"quantity":2.0`} {
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
