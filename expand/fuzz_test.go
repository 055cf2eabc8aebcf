package expand

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// FuzzStreamVersion checks the stream-version scanner on any input: no panic,
// a result exactly when the stream holds a decimal digit, padding to six
// digits, and a float repr that reads back as the same number.
func FuzzStreamVersion(f *testing.F) {
	for _, s := range []string{"f28", "el8.1.0", "el8.1.0.z", "f27.02.30", "master", "", "..1..", "v1..2", "f٣٤", "1e5", "f" + strings.Repeat("9", 400)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hasDigit := strings.IndexFunc(s, unicode.IsDigit) >= 0
		digits, ok := streamVersionDigits(s, true)
		if ok != hasDigit {
			t.Fatalf("ok = %v for %q, has digit %v", ok, s, hasDigit)
		}
		if !ok {
			return
		}
		if len(digits) < 6 || strings.Trim(digits, "0123456789") != "" {
			t.Fatalf("padded digits %q of %q", digits, s)
		}
		unpadded, _ := streamVersionDigits(s, false)
		if !strings.HasPrefix(digits, unpadded) {
			t.Fatalf("padding changed the digits: %q vs %q", digits, unpadded)
		}
		v, _ := StreamVersion(s, false, nil)
		r := PyFloatRepr(v)
		if back, err := strconv.ParseFloat(r, 64); err != nil || back != v {
			t.Fatalf("repr %q of %v does not read back (%v)", r, v, err)
		}
		PrefixedVersion(s, 20180205135154, nil)
		KojiTag(s, s, 1, s, KojiTargetMaxLength, false, 0)
	})
}
