package bus

import (
	"fmt"
	"math"
	"reflect"
	"time"
)

// plainDepth bounds how deep PlainValue follows nested maps, lists and
// pointers: a peer could nest them deep enough to matter.
const plainDepth = 32

// PlainValue returns a received property value (an AMQP header or
// application property, as a protocol library decoded it) as the plain Go
// values rida.Message.Properties hold, so that handlers need not import the
// protocol library:
//
//   - nil, bool, string, int64 and float64 as they are;
//   - every other integer as int64, except an unsigned one above
//     math.MaxInt64, which stays an exact uint64;
//   - float32 as float64;
//   - a byte slice of any type as a new []byte;
//   - time.Time in UTC;
//   - a map of any key type as map[string]any, its keys converted like
//     values and then printed with fmt.Sprint unless strings; a slice or
//     array as []any; their elements converted in turn;
//   - a pointer as what it points at (nil as nil), and a named
//     type over one of the kinds above (an AMQP symbol, a named string) as
//     that kind;
//   - a map, list or pointer nested 32 levels deep as nil;
//   - anything else as its fmt.Sprint text.
//
// special, when not nil, is asked first about every value at every depth:
// for a protocol's own types (an AMQP decimal or UUID) it returns their
// plain form and true, which PlainValue uses as is; false leaves the value
// to the rules above.
func PlainValue(v any, special func(any) (any, bool)) any {
	return plainValue(v, special, 0)
}

func plainValue(v any, special func(any) (any, bool), depth int) any {
	if special != nil {
		if p, ok := special(v); ok {
			return p
		}
	}
	switch v := v.(type) {
	case nil, bool, string, int64, float64:
		return v
	case int:
		return int64(v)
	case int8:
		return int64(v)
	case int16:
		return int64(v)
	case int32:
		return int64(v)
	case uint8:
		return int64(v)
	case uint16:
		return int64(v)
	case uint32:
		return int64(v)
	case uint64:
		return plainUint(v)
	case uint:
		return plainUint(uint64(v))
	case float32:
		return float64(v)
	case []byte:
		return append([]byte(nil), v...)
	case time.Time:
		return v.UTC()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return rv.String()
	case reflect.Bool:
		return rv.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return plainUint(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	}
	if depth >= plainDepth {
		// Not its text: fmt would follow a self-containing map forever.
		return nil
	}
	switch rv.Kind() {
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			k := plainValue(it.Key().Interface(), special, depth+1)
			ks, ok := k.(string)
			if !ok {
				ks = fmt.Sprint(k)
			}
			out[ks] = plainValue(it.Value().Interface(), special, depth+1)
		}
		return out
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			// A named byte slice (go-amqp's ArrayUByte): binary in all but
			// name.
			return append([]byte(nil), rv.Bytes()...)
		}
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = plainValue(rv.Index(i).Interface(), special, depth+1)
		}
		return out
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		return plainValue(rv.Elem().Interface(), special, depth+1)
	}
	return fmt.Sprint(v)
}

func plainUint(u uint64) any {
	if u > math.MaxInt64 {
		return u
	}
	return int64(u)
}
