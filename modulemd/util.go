package modulemd

import (
	"slices"
	"strconv"
	"unicode/utf8"
)

func itoa(i int) string     { return strconv.Itoa(i) }
func uitoa(u uint64) string { return strconv.FormatUint(u, 10) }
func i64toa(i int64) string { return strconv.FormatInt(i, 10) }

// sortedKeys returns the keys of m in byte-wise order, the order in which
// libmodulemd writes hash tables.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func utf8Valid(s string) bool { return utf8.ValidString(s) }
