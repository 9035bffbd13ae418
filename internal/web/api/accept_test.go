package api

import "testing"

func TestPrefersCSV(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                                       false,
		"*/*":                                    false,
		"application/json":                       false,
		"text/csv":                               true,
		"TEXT/CSV; charset=utf-8":                true,
		"text/csv, */*":                          true,
		"text/*":                                 true,
		"text/csv;q=0":                           false,
		"application/json, text/csv;q=0.5":       false,
		"application/json;q=0.4, text/csv":       true,
		"text/csv;q=0.9, application/*;q=0.9":    true,
		"text/csv;q=0.5, application/json;q=0.5": false,
		"text/csv;q=abc":                         false,
		"text/csv;q=0.8, */*;q=0.9":              false,
		"text/html, text/csv;q=0.1":              true,
	} {
		if got := prefersCSV(accept); got != want {
			t.Errorf("Accept %q: CSV %v, want %v", accept, got, want)
		}
	}
}

func FuzzPrefersCSV(f *testing.F) {
	f.Add("application/json, text/csv;q=0.5")
	f.Add("text/csv;q=1.0;level=1, */*;q=0")
	f.Fuzz(func(t *testing.T, accept string) {
		if q, _ := acceptQ(accept, "text/csv"); q < 0 || q > 1 {
			t.Fatalf("quality %v for %q", q, accept)
		}
		prefersCSV(accept)
	})
}
