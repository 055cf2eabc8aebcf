package xmlrpc

import "fmt"

// Call is one call of a multicall: a method and its parameters, which may
// end with [KwArgs].
type Call struct {
	Method string
	Params []any
}

// MulticallResult is the outcome of one call of a multicall: its value, or
// the fault it raised (with the hub's traceback).
type MulticallResult struct {
	Value any
	Fault *Fault
}

// Err returns the fault as an error, or nil when the call succeeded.
func (r MulticallResult) Err() error {
	if r.Fault != nil {
		return r.Fault
	}
	return nil
}

// EncodeMulticall encodes a multiCall request as Koji's client sends it
// (ClientSession.multiCall): one parameter, [MulticallParam] of calls.
func EncodeMulticall(calls []Call) ([]byte, error) {
	param, err := MulticallParam(calls)
	if err != nil {
		return nil, err
	}
	return EncodeCall("multiCall", param)
}

// MulticallParam returns the one parameter of a multiCall request, for a
// client that encodes the call itself: the list of {"methodName": method,
// "params": koji.encode_args(params)} structs, a trailing [KwArgs] of a
// call turned into its "__starstar" struct.
func MulticallParam(calls []Call) ([]any, error) {
	list := make([]any, len(calls))
	for i, c := range calls {
		if c.Method == "" {
			return nil, fmt.Errorf("xmlrpc: encode multiCall: call %d: empty method name", i)
		}
		params := make([]any, 0, len(c.Params))
		for j, p := range c.Params {
			if kw, ok := p.(KwArgs); ok {
				if j != len(c.Params)-1 {
					return nil, fmt.Errorf("xmlrpc: encode multiCall: call %d (%s): param %d: KwArgs must be the last parameter", i, c.Method, j)
				}
				if len(kw) == 0 {
					continue
				}
				p = kwStruct(kw)
			}
			params = append(params, p)
		}
		list[i] = Struct{{Name: "methodName", Value: c.Method}, {Name: "params", Value: params}}
	}
	return list, nil
}

// MulticallResults splits a decoded multiCall reply into one result per
// call: a one-element array [value] is a success, a struct {faultCode,
// faultString, traceback} a fault.
func MulticallResults(v any) ([]MulticallResult, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("xmlrpc: multicall reply is %s, want an array", typeName(v))
	}
	out := make([]MulticallResult, len(list))
	for i, r := range list {
		switch r := r.(type) {
		case []any:
			if len(r) != 1 {
				return nil, fmt.Errorf("xmlrpc: multicall result %d is an array of %d values, want 1", i, len(r))
			}
			out[i].Value = r[0]
		case Struct:
			f, err := faultFrom(r, true)
			if err != nil {
				return nil, fmt.Errorf("xmlrpc: multicall result %d: %w", i, err)
			}
			out[i].Fault = f
		default:
			return nil, fmt.Errorf("xmlrpc: multicall result %d is %s, want [value] or a fault struct", i, typeName(r))
		}
	}
	return out, nil
}

// DecodeMulticallResponse decodes the reply to a multiCall request into
// one result per call. A fault of the whole request (e.g. an AuthError) is
// returned as the error.
func DecodeMulticallResponse(body []byte) ([]MulticallResult, error) {
	v, err := DecodeResponse(body)
	if err != nil {
		return nil, err
	}
	return MulticallResults(v)
}

// MulticallCalls reads the parameters of a decoded multiCall (or
// system.multicall) request, for a server: the calls with their params as
// sent (a keyword-argument struct stays last; see [SplitKwArgs]).
func MulticallCalls(params []any) ([]Call, error) {
	if len(params) != 1 {
		return nil, fmt.Errorf("xmlrpc: multicall has %d params, want 1", len(params))
	}
	list, ok := params[0].([]any)
	if !ok {
		return nil, fmt.Errorf("xmlrpc: multicall param is %s, want an array", typeName(params[0]))
	}
	calls := make([]Call, len(list))
	for i, c := range list {
		s, ok := c.(Struct)
		if !ok {
			return nil, fmt.Errorf("xmlrpc: multicall call %d is %s, want a struct", i, typeName(c))
		}
		m, _ := s.Get("methodName")
		name, ok := m.(string)
		if !ok || name == "" {
			return nil, fmt.Errorf("xmlrpc: multicall call %d: methodName is %s, want a non-empty string", i, typeName(m))
		}
		p, _ := s.Get("params")
		ps, ok := p.([]any)
		if !ok {
			return nil, fmt.Errorf("xmlrpc: multicall call %d (%s): params is %s, want an array", i, name, typeName(p))
		}
		calls[i] = Call{Method: name, Params: ps}
	}
	return calls, nil
}

// EncodeMulticallResponse encodes the reply to a multiCall as the Koji hub
// does: per call, [value] for a success, or the fault struct {faultCode,
// faultString, traceback} (traceback only when the Fault has one; the hub
// always sends it).
func EncodeMulticallResponse(results []MulticallResult) ([]byte, error) {
	list := make([]any, len(results))
	for i, r := range results {
		if r.Fault != nil {
			list[i] = r.Fault
		} else {
			list[i] = []any{r.Value}
		}
	}
	return EncodeResponse(list)
}
