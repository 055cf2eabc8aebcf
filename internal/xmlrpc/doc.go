// Package xmlrpc is the XML-RPC codec rida uses to talk to a Koji hub: it
// encodes calls and responses the way Koji's Python code does and decodes
// them into plain Go values. It has no transport, sessions or Koji
// semantics; the koji package builds its client (and its test hub) on it.
//
// # What Koji needs
//
// Koji speaks XML-RPC with the extensions of Python's marshaller with
// allow_none and Koji's koji/xmlrpcplus.py:
//
//   - None travels as <nil/> in both directions (<ex:nil/> is accepted too).
//   - Integers outside the int32 range travel as <i8> in both directions
//     (<ex:i8> is accepted too); <int>, <i4> and <i8> all decode to int64.
//   - Keyword arguments are a trailing struct with "__starstar" = true
//     (koji.encode_args); see [KwArgs] and [SplitKwArgs].
//   - Faults carry Koji's codes (1000 GenericError, 1002 AuthError, 1 for a
//     plain Python exception, ...); they decode to a *[Fault] error.
//   - multiCall takes a list of {methodName, params} structs and answers,
//     per call, [value] or {faultCode, faultString, traceback}; see
//     [EncodeMulticall] (or [MulticallParam]) and [MulticallResults].
//   - Struct member order is kept ([Struct] is an ordered list), so that a
//     decoded request or reply encodes again byte for byte.
//
// The encoder writes exactly the layout of Python's xmlrpc.client.dumps
// (the "<?xml version='1.0'?>" declaration, one element per line, <nil/>
// without a newline, doubles as Python's repr), so a call encoded here is
// byte for byte what the koji Python client (and therefore MBS) sends, and
// a response is what the hub answers. Two deliberate differences: a
// carriage return in a string is written as "&#13;" (Python writes it raw
// and the XML parser at the other end turns it into a newline), and
// strings that XML cannot carry (control characters, invalid UTF-8) are an
// error instead of a document the hub would reject.
//
// # Values
//
// Decoding produces: nil, int64, bool, string, float64, time.Time (UTC),
// []byte (base64), []any (array) and [Struct]. Encoding accepts those and
// also any Go integer, float, slice, array, map with string keys, struct
// (exported fields in order, named by an `xmlrpc:"name,omitempty"` tag or
// the field name) and pointer (nil is <nil/>); a nil slice or map encodes
// as an empty array or struct, a map's members are sorted by name, and a
// time loses its fractions of a second and is written in UTC. [Unmarshal]
// copies a decoded value into typed Go variables with the same field
// rules.
//
// # Why in-house
//
// No Go XML-RPC library does what Koji needs (go-deps.md §2): the common
// ones encode Go nil as an empty value instead of <nil/>, lose fault codes,
// decode an untyped <value>text</value> badly or have no multicall. This
// codec uses only the standard library. Its decoder reads the input with a
// small XML tokenizer of its own (scanner.go), several times faster than
// encoding/xml's and with a tenth of the allocations; the fuzz tests
// check it against an encoding/xml-based reference decoder, which must
// accept everything it accepts and agree on every value. Encoding is
// checked byte for byte against the captured Koji traffic and, when
// python3 is installed, against Python's own marshaller.
//
// # Hostile input
//
// Decoding never panics and never writes to its input; decoded values do
// not refer to it. A [Decoder] bounds the input size (MaxBytes, default
// [DefaultMaxBytes]) and the nesting of arrays and structs (MaxDepth,
// default [DefaultMaxDepth]), so memory use stays proportional to the input
// and the stack stays small. DTDs and entity declarations are refused, as
// the hub's defusedxml does, and only UTF-8 is read. Malformed input gives
// a *[DecodeError] with its line and column.
package xmlrpc
