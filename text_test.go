package admit

import "testing"

func TestValidEmail(t *testing.T) {
	for s, want := range map[string]bool{
		"ada@example.com":          true,
		"a.b+tag@mail.example.org": true,
		"":                         false,
		"ada":                      false,
		"a@b":                      false, // no dot: not deliverable on the internet
		"a@b.":                     false,
		"Bob <bob@example.com>":    false, // a display name is not an address
		"<bob@example.com>":        false,
		"bob@example.com (Bob)":    false,
		"bob@exa\x00mple.com":      false,
		"bob\n@example.com":        false,
		"bob@example.com\r":        false,
		"two@at@example.com":       false,
		"a@[192.0.2.1]":            false,
		"a@-b.com":                 false,
		"a@b-.com":                 false,
		"a@b..com":                 false,
		"a@b.com\u2028x":           false,
		"zoë@exämple.de":           true,
		string(make([]byte, 255)):  false,
		"x@" + "example.com\u0085": false,
	} {
		if got := ValidEmail(s); got != want {
			t.Errorf("ValidEmail(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestOneLineAndPlainText(t *testing.T) {
	for s, want := range map[string][2]bool{ // OneLine, PlainText
		"Ada Lovelace": {true, true},
		"Zoë Ñandú 東京": {true, true},
		"a\nb":         {false, true},
		"a\tb":         {false, true},
		"a\x00b":       {false, false},
		"a\x07b":       {false, false},
		"a\x7fb":       {false, false},
		"a\u0085b":     {false, false},
		"\xff":         {false, false},
		"a\u2028b":     {false, true},
		"a\u202eb":     {false, false},
		"a\u200cb":     {true, true}, // a zero-width non-joiner belongs in Persian names
	} {
		if got := [2]bool{OneLine(s), PlainText(s)}; got != want {
			t.Errorf("%q: OneLine, PlainText = %v, want %v", s, got, want)
		}
	}
}

func FuzzValidEmail(f *testing.F) {
	f.Add("ada@example.com")
	f.Add("Bob <bob@example.com>")
	f.Fuzz(func(t *testing.T, s string) {
		if ValidEmail(s) && (!OneLine(s) || len(s) > 254) {
			t.Fatalf("ValidEmail(%q) accepted a control character or a long address", s)
		}
	})
}
