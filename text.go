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
// other than tab, carriage return and line feed.
func PlainText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r'
	})
}

// OneLine reports whether s is valid UTF-8 without any control character.
func OneLine(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// ValidID reports whether s has the form of an id of ours (a prefix, an
// underscore and lowercase base32, at most 64 characters), so that junk
// from a URL is turned away before it reaches SQL. The path parameters'
// pattern in the API says the same: ^[a-z0-9_]+$.
func ValidID(s string) bool {
	return len(s) >= 1 && len(s) <= 64 && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_')
	})
}

// ValidEmail reports whether s is a bare address (local@domain.tld, at most
// 254 bytes): no display name ("Bob <bob@example.com>"), no comment, no
// control character, and a domain with a dot.
func ValidEmail(s string) bool {
	if len(s) > 254 || !OneLine(s) {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	_, domain, _ := strings.Cut(s, "@")
	return strings.Contains(strings.Trim(domain, "."), ".")
}
