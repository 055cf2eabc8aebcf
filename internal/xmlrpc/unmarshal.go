package xmlrpc

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// Unmarshal stores a decoded value v (as DecodeResponse returns it) in the
// Go value dst points to, converting as needed:
//
//   - nil sets the zero value (a nil pointer, slice or map; 0; "").
//   - int64 goes into any integer type that holds it, or a float.
//   - []any goes into a slice or array, element by element.
//   - Struct goes into a Go struct (members matched to fields by their
//     `xmlrpc:"name"` tag or field name, exactly or else ignoring case;
//     unknown members are ignored; embedded structs are promoted as when
//     encoding) or into a map with string keys.
//   - A value that is assignable (into any, or string into string) is
//     stored as it is; pointers are allocated as needed.
//
// A mismatch returns an error naming where in v it is, e.g.
// `xmlrpc: cannot unmarshal a string into int at [0].build_id`.
func Unmarshal(v any, dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("xmlrpc: Unmarshal into %T: want a non-nil pointer", dst)
	}
	return unmarshal(v, rv.Elem(), nil)
}

// path is where a value is in the document being unmarshaled, innermost
// last; it is only formatted for an error.
type path []string

func (p path) String() string {
	if len(p) == 0 {
		return "the top"
	}
	return strings.Join(p, "")
}

func mismatch(v any, dst reflect.Value, p path) error {
	return fmt.Errorf("xmlrpc: cannot unmarshal %s into %s at %s", typeName(v), dst.Type(), p)
}

func unmarshal(v any, dst reflect.Value, p path) error {
	if v == nil {
		dst.SetZero()
		return nil
	}
	src := reflect.ValueOf(v)
	if src.Type().AssignableTo(dst.Type()) {
		dst.Set(src)
		return nil
	}
	if dst.Kind() == reflect.Pointer {
		if dst.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
		}
		return unmarshal(v, dst.Elem(), p)
	}
	switch dst.Kind() {
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			return mismatch(v, dst, p)
		}
		dst.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(int64)
		if !ok || dst.OverflowInt(n) {
			return mismatch(v, dst, p)
		}
		dst.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, ok := v.(int64)
		if !ok || n < 0 || dst.OverflowUint(uint64(n)) {
			return mismatch(v, dst, p)
		}
		dst.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		switch n := v.(type) {
		case float64:
			if dst.Kind() == reflect.Float32 && !math.IsInf(n, 0) && dst.OverflowFloat(n) {
				return mismatch(v, dst, p)
			}
			dst.SetFloat(n)
		case int64:
			dst.SetFloat(float64(n))
		default:
			return mismatch(v, dst, p)
		}
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return mismatch(v, dst, p)
		}
		dst.SetString(s)
	case reflect.Slice:
		if b, ok := v.([]byte); ok && dst.Type().Elem().Kind() == reflect.Uint8 {
			dst.SetBytes(append([]byte(nil), b...))
			return nil
		}
		list, ok := v.([]any)
		if !ok {
			return mismatch(v, dst, p)
		}
		s := reflect.MakeSlice(dst.Type(), len(list), len(list))
		for i, e := range list {
			if err := unmarshal(e, s.Index(i), append(p, "["+strconv.Itoa(i)+"]")); err != nil {
				return err
			}
		}
		dst.Set(s)
	case reflect.Array:
		list, ok := v.([]any)
		if !ok || len(list) > dst.Len() {
			return mismatch(v, dst, p)
		}
		dst.SetZero()
		for i, e := range list {
			if err := unmarshal(e, dst.Index(i), append(p, "["+strconv.Itoa(i)+"]")); err != nil {
				return err
			}
		}
	case reflect.Map:
		s, ok := v.(Struct)
		if !ok || dst.Type().Key().Kind() != reflect.String {
			return mismatch(v, dst, p)
		}
		m := reflect.MakeMapWithSize(dst.Type(), len(s))
		et := dst.Type().Elem()
		for _, mb := range s {
			e := reflect.New(et).Elem()
			if err := unmarshal(mb.Value, e, append(p, "."+mb.Name)); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(mb.Name).Convert(dst.Type().Key()), e)
		}
		dst.Set(m)
	case reflect.Struct:
		s, ok := v.(Struct)
		if !ok {
			return mismatch(v, dst, p)
		}
		if dst.Type() == timeType {
			return mismatch(v, dst, p)
		}
		byName := fieldIndex(dst.Type())
		fields := cachedFields(dst.Type())
		for _, mb := range s {
			i, ok := byName[mb.Name]
			if !ok {
				if i, ok = byName[strings.ToLower(mb.Name)]; !ok {
					continue
				}
			}
			f, err := fieldForSet(dst, fields[i].index)
			if err != nil {
				return fmt.Errorf("xmlrpc: cannot unmarshal into %s at %s: %w", dst.Type(), p, err)
			}
			if err := unmarshal(mb.Value, f, append(p, "."+mb.Name)); err != nil {
				return err
			}
		}
	default:
		return mismatch(v, dst, p)
	}
	return nil
}

var fieldIndexCache sync.Map // reflect.Type → map[string]int

// fieldIndex maps member names, as written and in lower case, to the
// position of their field in cachedFields (an exact name wins).
func fieldIndex(t reflect.Type) map[string]int {
	if m, ok := fieldIndexCache.Load(t); ok {
		return m.(map[string]int)
	}
	fs := cachedFields(t)
	m := make(map[string]int, 2*len(fs))
	for i, f := range fs {
		if _, ok := m[strings.ToLower(f.name)]; !ok {
			m[strings.ToLower(f.name)] = i
		}
	}
	for i, f := range fs {
		m[f.name] = i
	}
	fieldIndexCache.Store(t, m)
	return m
}

// fieldForSet follows an embedded-field path for writing, allocating nil
// embedded pointers.
func fieldForSet(v reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, errors.New("nil embedded pointer to an unexported type")
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}
