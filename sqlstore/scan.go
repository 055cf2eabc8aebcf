package sqlstore

import (
	"fmt"
	"strings"
	"time"
)

// timeValue scans a timestamp from either database: PostgreSQL (pgx) hands
// over a time.Time, SQLite the fixed-width text this package writes. The
// result is always UTC. A NULL leaves Valid false.
type timeValue struct {
	Time  time.Time
	Valid bool
}

// Scan implements sql.Scanner.
func (t *timeValue) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		t.Time, t.Valid = time.Time{}, false
		return nil
	case time.Time:
		t.Time, t.Valid = v.UTC(), true
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	}
	return fmt.Errorf("scan time: unsupported type %T", src)
}

func (t *timeValue) parse(s string) error {
	p, err := time.Parse(sqliteTimeLayout, s)
	if err != nil {
		// Accept any RFC 3339 text too (rows written by hand or by an
		// older format), so a read never fails on a valid timestamp.
		p, err = time.Parse(time.RFC3339Nano, strings.Replace(s, " ", "T", 1))
		if err != nil {
			return fmt.Errorf("scan time %q: %w", s, err)
		}
	}
	t.Time, t.Valid = p.UTC(), true
	return nil
}

// ptr returns the time as a pointer, nil for NULL.
func (t *timeValue) ptr() *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

// nullString maps "" to NULL, as MBS stores unset optional text.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullInt64 maps 0 to NULL, as MBS stores unset optional integers.
func nullInt64(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

// nullPtrInt64 maps a nil pointer to NULL.
func nullPtrInt64(v *int64) any {
	if v == nil {
		return nil
	}
	return *v
}

// placeholders returns "?,?,...,?" with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

// Scan targets for numbers and booleans. database/sql converts a driver
// int64 into *int64 through reflection; these sql.Scanner types switch on
// the value instead, which matters when a page scans thousands of columns.
// A NULL leaves Valid false and the value zero.

// intValue scans an integer column; SQLite and pgx both hand over int64.
type intValue struct {
	V     int64
	Valid bool
}

// Scan implements sql.Scanner.
func (n *intValue) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		n.V, n.Valid = v, true
	case nil:
		n.V, n.Valid = 0, false
	case int32:
		n.V, n.Valid = int64(v), true
	case float64:
		n.V, n.Valid = int64(v), true
	default:
		return fmt.Errorf("scan integer: unsupported type %T", src)
	}
	return nil
}

// floatValue scans a DOUBLE PRECISION column.
type floatValue struct {
	V     float64
	Valid bool
}

// Scan implements sql.Scanner.
func (n *floatValue) Scan(src any) error {
	switch v := src.(type) {
	case float64:
		n.V, n.Valid = v, true
	case int64:
		n.V, n.Valid = float64(v), true
	case nil:
		n.V, n.Valid = 0, false
	default:
		return fmt.Errorf("scan float: unsupported type %T", src)
	}
	return nil
}

// boolValue scans a BOOLEAN column: SQLite stores 0/1, PostgreSQL has bool.
type boolValue bool

// Scan implements sql.Scanner.
func (b *boolValue) Scan(src any) error {
	switch v := src.(type) {
	case bool:
		*b = boolValue(v)
	case int64:
		*b = v != 0
	case nil:
		*b = false
	default:
		return fmt.Errorf("scan bool: unsupported type %T", src)
	}
	return nil
}

// textValue scans an optional TEXT column; NULL is "".
type textValue struct {
	V     string
	Valid bool
}

// Scan implements sql.Scanner.
func (t *textValue) Scan(src any) error {
	switch v := src.(type) {
	case string:
		t.V, t.Valid = v, true
	case []byte:
		t.V, t.Valid = string(v), true
	case nil:
		t.V, t.Valid = "", false
	default:
		return fmt.Errorf("scan text: unsupported type %T", src)
	}
	return nil
}
