package xmlrpc

import (
	"fmt"
	"strconv"
)

// Member is one member of a [Struct]: a name and its value.
type Member struct {
	Name  string
	Value any
}

// Struct is an XML-RPC struct with its members in wire order. Decoding
// produces a Struct for every <struct>; encoding one writes its members in
// order, so a decoded struct encodes again byte for byte.
//
// Member names need not be unique on the wire; Get, like Python's dict,
// answers the last member of a name.
type Struct []Member

// Get returns the value of the last member named name, and whether there
// is one.
func (s Struct) Get(name string) (any, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i].Name == name {
			return s[i].Value, true
		}
	}
	return nil, false
}

// Map returns the members as a map (the last member of a name wins).
func (s Struct) Map() map[string]any {
	m := make(map[string]any, len(s))
	for _, mb := range s {
		m[mb.Name] = mb.Value
	}
	return m
}

// KwArgs are Python keyword arguments for a call, in order. Passed as the
// last parameter of [EncodeCall] (or of a [Call] in a multicall) they are
// encoded as koji.encode_args does: a trailing struct of the arguments
// followed by "__starstar" = true, or nothing at all when there are none.
// KwArgs anywhere else is an encoding error.
type KwArgs []Member

// starstar is the member name that marks a struct as keyword arguments.
const starstar = "__starstar"

// SplitKwArgs undoes koji.encode_args, as koji.decode_args does: when the
// last parameter is a struct whose "__starstar" member is true, it returns
// the parameters before it and that struct's other members as KwArgs.
// Otherwise it returns params unchanged and nil.
func SplitKwArgs(params []any) ([]any, KwArgs) {
	if len(params) == 0 {
		return params, nil
	}
	last, ok := params[len(params)-1].(Struct)
	if !ok {
		return params, nil
	}
	if v, _ := last.Get(starstar); v != true {
		return params, nil
	}
	kw := make(KwArgs, 0, len(last)-1)
	for _, m := range last {
		if m.Name != starstar {
			kw = append(kw, m)
		}
	}
	return params[:len(params)-1], kw
}

// Fault is an XML-RPC fault: the hub's answer when a call raised. Koji's
// codes are in koji.md §2.4 (1000 GenericError, 1002 AuthError, 1019
// ParameterError, ...; 1 is a Python exception that is not a Koji error).
// DecodeResponse returns it as the error; a failed call inside a multicall
// also carries the hub's traceback lines.
type Fault struct {
	Code      int
	String    string
	Traceback []string // only in multicall results; nil otherwise
}

// Error returns "xmlrpc fault <code>: <string>".
func (f *Fault) Error() string {
	return "xmlrpc fault " + strconv.Itoa(f.Code) + ": " + f.String
}

// DecodeError is malformed input: not XML, not XML-RPC, a value that does
// not parse, or input beyond a [Decoder]'s limits. Line and Column locate
// it in the input (1-based; Column counts bytes).
type DecodeError struct {
	Line, Column int
	Msg          string
	Err          error // ErrTooLarge or ErrTooDeep for input beyond the limits; nil otherwise
}

func (e *DecodeError) Error() string {
	if e.Line == 0 {
		return "xmlrpc: " + e.Msg
	}
	return fmt.Sprintf("xmlrpc: line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Unwrap returns the underlying error.
func (e *DecodeError) Unwrap() error { return e.Err }
