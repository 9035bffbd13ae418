package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// jsonFormat is huma's JSON format with unmarshalJSON.
var jsonFormat = huma.Format{Marshal: huma.DefaultJSONFormat.Marshal, Unmarshal: unmarshalJSON}

// unmarshalJSON is encoding/json's Unmarshal that also takes a whole number
// written as a float (2.0, 1e2) for an integer field: the OpenAPI document
// says "type: integer", and in JSON Schema 2.0 is one (Python's json.dumps
// writes floats so). A fraction still fails validation. Only a body that
// failed to decode is decoded again.
func unmarshalJSON(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || !strings.HasPrefix(te.Value, "number") {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if dec.Decode(&doc) != nil {
		return err
	}
	doc, changed := wholeNumbers(doc)
	if !changed {
		return err
	}
	normal, merr := json.Marshal(doc)
	if merr != nil {
		return err
	}
	return json.Unmarshal(normal, v)
}

// wholeNumbers rewrites the whole numbers written as floats in a document
// decoded with UseNumber as integers, and reports whether it changed any.
func wholeNumbers(v any) (any, bool) {
	changed := false
	switch v := v.(type) {
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return v, false
		}
		if n, ok := integerLiteral(string(v)); ok {
			return json.Number(n), true
		}
		return v, false // a fraction, or beyond int64: let it fail
	case []any:
		for i, x := range v {
			var c bool
			v[i], c = wholeNumbers(x)
			changed = changed || c
		}
	case map[string]any:
		for k, x := range v {
			var c bool
			v[k], c = wholeNumbers(x)
			changed = changed || c
		}
	}
	return v, changed
}

// integerLiteral returns the integer a JSON number literal (2.0, 1e2,
// -3.00E+1) denotes exactly, written as digits, if it is one that fits in
// an int64. It reads the decimal literal itself, since a float64 would take
// 1.0000000000000001 for 1; exponents beyond ±100 are refused, not computed.
func integerLiteral(lit string) (string, bool) {
	neg := strings.HasPrefix(lit, "-")
	mantissa, exponent, scaled := strings.Cut(strings.ToLower(strings.TrimPrefix(lit, "-")), "e")
	exp := 0
	if scaled {
		e, err := strconv.Atoi(exponent)
		if err != nil || e < -100 || e > 100 {
			return "", false
		}
		exp = e
	}
	whole, frac, _ := strings.Cut(mantissa, ".")
	digits := strings.TrimLeft(whole+frac, "0")
	exp -= len(frac)
	for strings.HasSuffix(digits, "0") {
		digits, exp = digits[:len(digits)-1], exp+1
	}
	if digits == "" {
		return "0", true
	}
	if exp < 0 {
		return "", false // a fraction
	}
	n, err := strconv.ParseInt(digits+strings.Repeat("0", exp), 10, 64)
	if err != nil {
		return "", false
	}
	if neg {
		n = -n
	}
	return strconv.FormatInt(n, 10), true
}
