package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/rida-build/rida"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeJSON writes v as compact JSON followed by a newline, as MBS does, and
// without HTML escaping: modulemd descriptions keep their < and >.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() { buf.Reset(); bufPool.Put(buf) }()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// decodeJSON reads one JSON object from the body into v, refusing unknown
// keys, trailing data and bodies over the server's limit.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return rida.Errorf(rida.CodeInvalid, "Invalid JSON submitted: unexpected data after the JSON object")
	}
	return nil
}

// jsonError turns a decoding error into a 400 (or 413) that says where.
func jsonError(err error) error {
	var mbe *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return rida.Errorf(rida.CodeInvalid, "Invalid JSON submitted: the body is empty")
	case errors.As(err, &syn):
		return rida.Errorf(rida.CodeInvalid, "Invalid JSON submitted: %v (at byte %d)", syn, syn.Offset)
	case errors.As(err, &typ):
		return rida.Errorf(rida.CodeInvalid, "Invalid JSON submitted: the value of %q must be %s, not %s", typ.Field, typ.Type, typ.Value)
	}
	// Unknown keys ("json: unknown field \"x\"") and unexpected EOF land here.
	return rida.Errorf(rida.CodeInvalid, "Invalid JSON submitted: %s", trimJSONPrefix(err.Error()))
}

func trimJSONPrefix(s string) string {
	const p = "json: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
