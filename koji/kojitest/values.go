package kojitest

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/rida-build/rida/internal/xmlrpc"
)

// row is a record being put together for a reply; reply turns it into a
// struct with sorted member names, as the 1.35 hub's queries answer.
type row map[string]any

// sorted returns r as a struct: members sorted by name, then the tail
// names in their order (members some calls add after the query).
func (r row) sorted(tail ...string) xmlrpc.Struct {
	names := make([]string, 0, len(r))
	for n := range r {
		if !slices.Contains(tail, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	s := make(xmlrpc.Struct, 0, len(r))
	for _, n := range names {
		s = append(s, xmlrpc.Member{Name: n, Value: r[n]})
	}
	for _, n := range tail {
		if v, ok := r[n]; ok {
			s = append(s, xmlrpc.Member{Name: n, Value: v})
		}
	}
	return s
}

// ordered returns a struct of name/value pairs in the given order.
func ordered(kv ...any) xmlrpc.Struct {
	s := make(xmlrpc.Struct, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		s = append(s, xmlrpc.Member{Name: kv[i].(string), Value: kv[i+1]})
	}
	return s
}

// pyTime is a timestamp as the hub sends it: datetime.isoformat(' ') of a
// UTC time, microseconds left out when zero.
func pyTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	u := t.UTC()
	if u.Nanosecond()/1000 == 0 {
		return u.Format("2006-01-02 15:04:05") + "+00:00"
	}
	return u.Format("2006-01-02 15:04:05.000000") + "+00:00"
}

// pyTS is the float *_ts twin of a timestamp (seconds since the epoch).
func pyTS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return float64(t.UnixMicro()) / 1e6
}

// nullable returns nil for a nil pointer and the value otherwise.
func nullable[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

// queryOpts are Koji's queryOpts: order, offset, limit and countOnly.
type queryOpts struct {
	order         []string
	offset, limit int64
	countOnly     bool
}

func parseQueryOpts(v any) (queryOpts, *hubErr) {
	var q queryOpts
	if v == nil {
		return q, nil
	}
	s, ok := v.(xmlrpc.Struct)
	if !ok {
		return q, pyErr("AttributeError", "'"+strings.Trim(strings.TrimPrefix(pyType(v), "<class "), "'>")+"' object has no attribute 'get'",
			"'"+strings.Trim(strings.TrimPrefix(pyType(v), "<class "), "'>")+"' object has no attribute 'get'")
	}
	if o, ok := s.Get("order"); ok && o != nil {
		str, ok := o.(string)
		if !ok {
			return q, genericErr("Invalid order: %s", pyStr(o))
		}
		for _, f := range strings.Split(str, ",") {
			if f = strings.TrimSpace(f); f != "" {
				q.order = append(q.order, f)
			}
		}
	}
	if o, ok := s.Get("offset"); ok && o != nil {
		n, err := toInt(o)
		if err != nil {
			return q, err
		}
		q.offset = n
	}
	if o, ok := s.Get("limit"); ok && o != nil {
		n, err := toInt(o)
		if err != nil {
			return q, err
		}
		q.limit = n
	}
	if o, ok := s.Get("countOnly"); ok {
		q.countOnly = truthy(o)
	}
	return q, nil
}

// apply orders, slices or counts rows as the hub's QueryProcessor does.
// PostgreSQL sorts NULL after everything in ascending order.
func (q queryOpts) apply(rows []xmlrpc.Struct) any {
	if len(q.order) > 0 {
		slices.SortStableFunc(rows, func(a, b xmlrpc.Struct) int {
			for _, f := range q.order {
				desc := strings.HasPrefix(f, "-")
				name := strings.TrimPrefix(f, "-")
				va, _ := a.Get(name)
				vb, _ := b.Get(name)
				c := cmpValues(va, vb)
				if desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
	}
	if q.countOnly {
		return int64(len(rows))
	}
	if q.offset > 0 {
		rows = rows[min(int(q.offset), len(rows)):]
	}
	if q.limit > 0 && int(q.limit) < len(rows) {
		rows = rows[:q.limit]
	}
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = r
	}
	return out
}

// cmpValues orders two column values, NULL last.
func cmpValues(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return cmp.Compare(x, y)
		case float64:
			return cmp.Compare(float64(x), y)
		}
	case float64:
		switch y := b.(type) {
		case int64:
			return cmp.Compare(x, float64(y))
		case float64:
			return cmp.Compare(x, y)
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case bool:
		if y, ok := b.(bool); ok {
			switch {
			case x == y:
				return 0
			case !x:
				return -1
			}
			return 1
		}
	}
	return strings.Compare(pyRepr(a), pyRepr(b))
}

func anyList[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}
