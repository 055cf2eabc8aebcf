package negotiate_test

import (
	"encoding/base64"
	"testing"

	"github.com/rida-build/rida/internal/negotiate"
)

func TestAPReq_Refusals(t *testing.T) {
	for token, want := range map[string]string{
		"%%%": "not base64",
		base64.StdEncoding.EncodeToString([]byte("x")): "not a Kerberos token",
		"": "not a Kerberos token",
	} {
		if _, err := negotiate.APReq(token); err == nil || err.Error() != want {
			t.Errorf("APReq(%q) = %v, want %q", token, err, want)
		}
	}
}

func FuzzAPReq(f *testing.F) {
	f.Add("YIIC")
	f.Add("YIIB")
	f.Add(base64.StdEncoding.EncodeToString([]byte{0x60, 0x03, 0x06, 0x01, 0x00}))
	f.Add(base64.StdEncoding.EncodeToString([]byte{0xa0, 0x10, 0x30, 0x0e}))
	f.Add(base64.StdEncoding.EncodeToString([]byte{0x60, 0x82, 0x02, 0x00}))
	f.Fuzz(func(t *testing.T, token string) {
		tok, err := negotiate.APReq(token)
		if (tok == nil) == (err == nil) {
			t.Fatalf("APReq(%q) = %v, %v: want exactly one", token, tok, err)
		}
	})
}
