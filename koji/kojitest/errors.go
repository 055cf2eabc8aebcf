package kojitest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rida-build/rida/internal/xmlrpc"
)

// Koji's fault codes (koji.md §2.4).
const (
	codePython     = 1
	codeGeneric    = 1000
	codeLock       = 1001
	codeAuth       = 1002
	codeTag        = 1003
	codeNotAllowed = 1004
	codeBuild      = 1005
	codeExpired    = 1007
	codeSequence   = 1008
	codeRetry      = 1009
	codeParameter  = 1019
	codeImport     = 1020
)

// kojiClasses names the koji exception class of a fault code, for the last
// line of the traceback a multicall fault carries.
var kojiClasses = map[int]string{
	1000: "GenericError", 1001: "LockError", 1002: "AuthError", 1003: "TagError",
	1004: "ActionNotAllowed", 1005: "BuildError", 1006: "AuthLockError", 1007: "AuthExpired",
	1008: "SequenceError", 1009: "RetryError", 1014: "ServerOffline", 1019: "ParameterError",
	1020: "ImportError",
}

// hubErr is the exception a hub call raises. Koji's own errors carry a
// code of 1000 and up and their message; any other Python exception is
// code 1 with the string "<class 'KeyError'>: 'x'" (its class and the
// str() of the exception), and inside a multicall the str() of its
// arguments instead.
type hubErr struct {
	code  int
	class string // the Python class of a code-1 error
	msg   string // str(exception)
	args  string // ", ".join(str(a) for a in exception.args), for code 1 in a multicall
}

func (e *hubErr) Error() string { return e.faultString() }

// faultString is the faultString of a single call.
func (e *hubErr) faultString() string {
	if e.code == codePython {
		return "<class '" + e.class + "'>: " + e.msg
	}
	return e.msg
}

// fault is the multicall entry {faultCode, faultString, traceback}.
func (e *hubErr) fault(method string) *xmlrpc.Fault {
	s, last := e.msg, "koji."+kojiClasses[e.code]+": "+e.msg+"\n"
	if e.code == codePython {
		s, last = e.args, e.class+": "+e.msg+"\n"
	} else if kojiClasses[e.code] == "" {
		last = "koji.GenericError: " + e.msg + "\n"
	}
	return &xmlrpc.Fault{Code: e.code, String: s, Traceback: []string{
		"Traceback (most recent call last):\n",
		"  File \"kojitest\", in " + method + "\n",
		last,
	}}
}

func kojiErr(code int, format string, a ...any) *hubErr {
	return &hubErr{code: code, msg: fmt.Sprintf(format, a...)}
}

func genericErr(format string, a ...any) *hubErr { return kojiErr(codeGeneric, format, a...) }
func authErr(format string, a ...any) *hubErr    { return kojiErr(codeAuth, format, a...) }
func tagErr(format string, a ...any) *hubErr     { return kojiErr(codeTag, format, a...) }
func notAllowed(format string, a ...any) *hubErr { return kojiErr(codeNotAllowed, format, a...) }
func paramErr(format string, a ...any) *hubErr   { return kojiErr(codeParameter, format, a...) }

// keyErr is Python's KeyError for a missing dict key.
func keyErr(key string) *hubErr {
	return &hubErr{code: codePython, class: "KeyError", msg: pyRepr(key), args: key}
}

// pyErr is another Python exception: class, str(exception) and the str()
// of its arguments.
func pyErr(class, msg, args string) *hubErr {
	return &hubErr{code: codePython, class: class, msg: msg, args: args}
}

// fileNotFound is the FileNotFoundError of opening path.
func fileNotFound(path string) *hubErr {
	return pyErr("FileNotFoundError", "[Errno 2] No such file or directory: "+pyRepr(path), "2, No such file or directory")
}

// pyRepr formats v as Python's repr() of the value Koji would hold.
func pyRepr(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		if v {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	case float64:
		return pyFloat(v)
	case string:
		return pyQuote(v)
	case []byte:
		return "b" + pyQuote(string(v))
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = pyRepr(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case xmlrpc.Struct:
		// A Python dict keeps a name in its first place, with its last value.
		parts := make([]string, 0, len(v))
		done := map[string]bool{}
		for _, m := range v {
			if done[m.Name] {
				continue
			}
			done[m.Name] = true
			val, _ := v.Get(m.Name)
			parts = append(parts, pyQuote(m.Name)+": "+pyRepr(val))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case time.Time:
		return "<DateTime '" + v.UTC().Format("20060102T15:04:05") + "'>"
	}
	return fmt.Sprint(v)
}

// pyStr is Python's str(): strings as they are, anything else as repr().
func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pyRepr(v)
}

// pyType is Python's str(type(v)).
func pyType(v any) string {
	switch v.(type) {
	case nil:
		return "<class 'NoneType'>"
	case bool:
		return "<class 'bool'>"
	case int64, int:
		return "<class 'int'>"
	case float64:
		return "<class 'float'>"
	case string:
		return "<class 'str'>"
	case []byte:
		return "<class 'bytes'>"
	case []any:
		return "<class 'list'>"
	case xmlrpc.Struct:
		return "<class 'dict'>"
	case time.Time:
		return "<class 'xmlrpc.client.DateTime'>"
	}
	return "<class 'object'>"
}

// pyFloat is Python's repr() of a float.
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e16 {
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if abs := math.Abs(f); abs >= 1e-4 && abs < 1e16 {
		s = strconv.FormatFloat(f, 'f', -1, 64)
	}
	return s
}

// pyQuote is Python's repr() of a str.
func pyQuote(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, "\\x%02x", s[i-1])
		case r == '\\' || r == rune(q):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", r)
		case r < 0x80 || unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, "\\x%02x", r)
		case r <= 0xffff:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			fmt.Fprintf(&b, "\\U%08x", r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// truthy is Python's bool(v).
func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case int64:
		return v != 0
	case int:
		return v != 0
	case float64:
		return v != 0
	case string:
		return v != ""
	case []byte:
		return len(v) > 0
	case []any:
		return len(v) > 0
	case xmlrpc.Struct:
		return len(v) > 0
	}
	return true
}

// toInt is Koji's convert_value(v, cast=int): Python's int() of a value,
// with Koji's ParameterError texts.
func toInt(v any) (int64, *hubErr) {
	switch x := v.(type) {
	case nil:
		return 0, paramErr("Invalid type, expected type <class 'int'>")
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case float64:
		if !math.IsInf(x, 0) && !math.IsNaN(x) {
			return int64(x), nil
		}
	case string:
		s := strings.ReplaceAll(strings.TrimSpace(x), "_", "")
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && !strings.HasPrefix(strings.TrimSpace(x), "_") {
			return n, nil
		}
	}
	return 0, paramErr("Invalid type for value '%s': %s, expected type <class 'int'>", pyStr(v), pyType(v))
}

// isInt reports whether v is a Python int (bool aside).
func isInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	}
	return 0, false
}

// checkStr is convert_value(v, cast=str, check_only=True).
func checkStr(v any) (string, *hubErr) {
	s, ok := v.(string)
	if !ok {
		if v == nil {
			return "", paramErr("Invalid type, expected type <class 'str'>")
		}
		return "", paramErr("Invalid type for value '%s': %s, expected type <class 'str'>", pyStr(v), pyType(v))
	}
	return s, nil
}

// getKey is Python's d[key] on a value that should be a dict.
func getKey(v any, key string) (any, *hubErr) {
	s, ok := v.(xmlrpc.Struct)
	if !ok {
		if v == nil {
			return nil, pyErr("TypeError", "'NoneType' object is not subscriptable", "'NoneType' object is not subscriptable")
		}
		msg := fmt.Sprintf("%s indices must be integers or slices, not str", strings.TrimSuffix(strings.TrimPrefix(pyType(v), "<class '"), "'>"))
		return nil, pyErr("TypeError", msg, msg)
	}
	x, ok := s.Get(key)
	if !ok {
		return nil, keyErr(key)
	}
	return x, nil
}

// optKey is Python's d.get(key) (nil when v is not a dict or has no key).
func optKey(v any, key string) any {
	if s, ok := v.(xmlrpc.Struct); ok {
		x, _ := s.Get(key)
		return x
	}
	return nil
}

// hasKey is Python's "key in d".
func hasKey(v any, key string) bool {
	if s, ok := v.(xmlrpc.Struct); ok {
		_, ok := s.Get(key)
		return ok
	}
	return false
}
