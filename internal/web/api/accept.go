package api

import (
	"strconv"
	"strings"
)

// prefersCSV reads an Accept header: CSV when text/csv is acceptable and
// ranked above JSON, or as high as JSON but named while JSON is matched
// only by a wildcard ("text/csv, */*"). Anything else gets JSON.
func prefersCSV(accept string) bool {
	csvQ, csvExact := acceptQ(accept, "text/csv")
	jsonQ, jsonExact := acceptQ(accept, "application/json")
	return csvQ > 0 && (csvQ > jsonQ || csvQ == jsonQ && csvExact && !jsonExact)
}

// acceptQ is the quality accept gives mediaType, from its most specific
// matching range (RFC 9110 §12.5.1), and whether that range names it.
func acceptQ(accept, mediaType string) (q float64, exact bool) {
	kind, _, _ := strings.Cut(mediaType, "/")
	best := -1 // specificity of the range q came from: */* 0, type/* 1, exact 2
	for part := range strings.SplitSeq(accept, ",") {
		params := strings.Split(part, ";")
		r := strings.ToLower(strings.TrimSpace(params[0]))
		spec := -1
		switch {
		case r == mediaType:
			spec = 2
		case r == kind+"/*":
			spec = 1
		case r == "*/*":
			spec = 0
		}
		if spec <= best {
			continue
		}
		best, q = spec, 1
		for _, p := range params[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
					q = f
				} else {
					q = 0 // a malformed weight is no preference
				}
			}
		}
	}
	return q, best == 2
}
