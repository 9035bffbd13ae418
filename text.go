package admit

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// checkLine checks a one-line text (a name, a title): its length in
// characters, and that it is valid UTF-8 without control characters (a
// line break in a name breaks badges, emails and CSV readers; a NUL cannot
// even be stored by PostgreSQL).
func checkLine(p *Problems, location, s string, min, max int) {
	if !OneLine(s) {
		p.Add(location, "must be one line of text, without control characters")
		return
	}
	checkLength(p, location, s, min, max)
}

// checkText checks a text that may run over several lines (a description,
// an address): as checkLine, but tabs and line breaks are allowed.
func checkText(p *Problems, location, s string, min, max int) {
	if !PlainText(s) {
		p.Add(location, "must be valid UTF-8 text without control characters")
		return
	}
	checkLength(p, location, s, min, max)
}

func checkLength(p *Problems, location, s string, min, max int) {
	n := utf8.RuneCountInString(s)
	switch {
	case n < min && min == 1:
		p.Add(location, "is required")
	case n < min || n > max:
		p.Add(location, "must be %d to %d characters", min, max)
	}
}

// PlainText reports whether s is valid UTF-8 without control characters
// other than tab, carriage return and line feed, nor bidirectional
// overrides (which would make a name display as another).
func PlainText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' || unicode.Is(bidiControls, r)
	})
}

// OneLine reports whether s is PlainText on one line: no tab, no line
// break, no Unicode line or paragraph separator either.
func OneLine(s string) bool { return PlainText(s) && !strings.ContainsAny(s, "\t\n\r\u2028\u2029") }

// bidiControls are the bidirectional embeddings, overrides and isolates
// (U+202A–U+202E, U+2066–U+2069), which reorder the text around them.
var bidiControls = &unicode.RangeTable{R16: []unicode.Range16{{Lo: 0x202a, Hi: 0x202e, Stride: 1}, {Lo: 0x2066, Hi: 0x2069, Stride: 1}}}

// ValidID reports whether s could be an id of ours: 1 to 64 lowercase
// letters, digits and underscores (ours are a prefix, an underscore and
// lowercase base32), so that junk from a URL is turned away before it
// reaches SQL. The path parameters' pattern in the API says the same:
// ^[a-z0-9_]+$.
func ValidID(s string) bool {
	return len(s) >= 1 && len(s) <= 64 && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_')
	})
}

// ValidEmail reports whether s is a bare address (local@domain.tld, at most
// 254 bytes): no display name ("Bob <bob@example.com>"), no comment, no
// control character, and a domain name of at least two labels of letters,
// digits and inner hyphens (no address literal such as [192.0.2.1]).
func ValidEmail(s string) bool {
	if len(s) > 254 || !OneLine(s) {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	_, domain, _ := strings.Cut(s, "@")
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' ||
			strings.ContainsFunc(l, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' }) {
			return false
		}
	}
	return true
}
