package modulemd

import (
	"errors"
	"fmt"
	"strings"
)

// Error is one problem found in a modulemd file. Unlike libmodulemd, whose
// "[line L col C]" suffixes point into an internal re-emitted copy of the
// document, Line and Column always refer to the user's own file (1-based), so
// an editor can jump straight to the offending node.
type Error struct {
	// File is the name given to Read, or the path given to ReadFile.
	File string
	// Line and Column locate the node in File, both 1-based. Errors that
	// concern a whole document point at its first node.
	Line, Column int
	// Document is the 0-based index of the YAML document in File, or -1 when
	// the error is not tied to one document (for example a YAML syntax error
	// between documents).
	Document int
	// Field is the dotted path of the offending field inside the document,
	// for example "data.components.rpms.foo.buildorder"; empty for YAML
	// syntax errors and document-level problems.
	Field string
	// Message is the human-readable explanation, worded like libmodulemd's
	// message where one exists so that users can search for it.
	Message string
}

// Error formats the error as "file:line:col: field: message", the shape
// compilers use, so that editors and CI logs can link to the position.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		// Objects built in Go rather than read from a file have no position.
		fmt.Fprintf(&b, "%d:%d: ", e.Line, e.Column)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// ErrorList is a list of errors, each an *Error, in file order. It is what
// Read and the validators return when more than one problem is found, so
// that a user fixes everything in one round trip.
type ErrorList []*Error

// Error joins the messages, one per line.
func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap exposes the individual errors to errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// err returns nil for an empty list, so callers never see a non-nil error
// interface holding an empty list.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Errors flattens err into the *Error values it holds: an ErrorList, a single
// *Error, or anything wrapping them. Other errors yield nil.
func Errors(err error) []*Error {
	if err == nil {
		return nil
	}
	var l ErrorList
	if errors.As(err, &l) {
		return l
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return nil
}
