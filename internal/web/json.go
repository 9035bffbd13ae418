package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
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
		f, err := v.Float64()
		if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return v, false // a fraction, or too large to be exact: let it fail
		}
		return json.Number(strconv.FormatInt(int64(f), 10)), true
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
