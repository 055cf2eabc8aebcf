package xmlrpc

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// fieldByIndex follows an embedded-field path; ok is false when it passes
// through a nil embedded pointer.
func fieldByIndex(rv reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && rv.Kind() == reflect.Pointer {
			if rv.IsNil() {
				return reflect.Value{}, false
			}
			rv = rv.Elem()
		}
		rv = rv.Field(x)
	}
	return rv, true
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map, reflect.String, reflect.Array:
		return v.Len() == 0
	}
	return v.IsZero()
}

// field is how a Go struct field travels: its member name and the path to
// it through embedded structs.
type field struct {
	name      string
	index     []int
	omitEmpty bool
	depth     int
}

var fieldCache sync.Map // reflect.Type → []field

// cachedFields lists the members a Go struct type encodes to, in field
// order: exported fields, named by an `xmlrpc:"name,omitempty"` tag or
// the field name, "-" skipped; the fields of an exported embedded struct
// without a tag name are promoted, and a shallower field hides a deeper
// one of the same name.
func cachedFields(t reflect.Type) []field {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.([]field)
	}
	var fs []field
	collectFields(t, nil, 0, &fs)
	// A name's shallowest field wins; among equals the first.
	best := map[string]int{}
	for i, f := range fs {
		if j, ok := best[f.name]; !ok || f.depth < fs[j].depth {
			best[f.name] = i
		}
	}
	out := make([]field, 0, len(best))
	for i, f := range fs {
		if best[f.name] == i {
			out = append(out, f)
		}
	}
	fieldCache.Store(t, out)
	return out
}

func collectFields(t reflect.Type, index []int, depth int, fs *[]field) {
	if depth > 8 { // embedding cycles through pointers
		return
	}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("xmlrpc")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		idx := append(slices.Clip(index), i)
		if sf.Anonymous && name == "" {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && sf.IsExported() && ft != timeType {
				collectFields(ft, idx, depth+1, fs)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		*fs = append(*fs, field{name: name, index: idx, omitEmpty: slices.Contains(strings.Split(opts, ","), "omitempty"), depth: depth})
	}
}

var timeType = reflect.TypeFor[time.Time]()
