package rida_test

import (
	"testing"

	"github.com/rida-build/rida"
)

func TestParseNVR(t *testing.T) {
	for _, c := range []struct {
		in   string
		want rida.NVR
	}{
		{"nginx-1.10.1-2.module+2+b8661ee4", rida.NVR{"nginx", "1.10.1", "2.module+2+b8661ee4"}},
		{"perl-Net-SSLeay-1.88-1", rida.NVR{"perl-Net-SSLeay", "1.88", "1"}},
	} {
		got, err := rida.ParseNVR(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseNVR(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
		if got.String() != c.in {
			t.Errorf("ParseNVR(%q).String() = %q", c.in, got.String())
		}
	}
	for _, bad := range []string{"", "a", "a-b", "-1-2", "a--2", "a-1-"} {
		if _, err := rida.ParseNVR(bad); err == nil {
			t.Errorf("ParseNVR(%q) succeeded", bad)
		}
	}
}

func TestModuleBuild_NVR(t *testing.T) {
	m := rida.ModuleBuild{Name: "nodejs", Stream: "10-lts", Version: 20180205135154, Context: "6c81f848"}
	if got, want := m.NVR().String(), "nodejs-10_lts-20180205135154.6c81f848"; got != want {
		t.Errorf("NVR() = %q, want %q", got, want)
	}
	if got, want := m.NSVC(), "nodejs:10-lts:20180205135154:6c81f848"; got != want {
		t.Errorf("NSVC() = %q, want %q", got, want)
	}
}

func FuzzParseNVR(f *testing.F) {
	for _, s := range []string{"nginx-1.10.1-2.module+2+b8661ee4", "a-b-c", "", "--", "a-1-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := rida.ParseNVR(s)
		if err != nil {
			return
		}
		if n.String() != s {
			t.Fatalf("ParseNVR(%q).String() = %q", s, n.String())
		}
		again, err := rida.ParseNVR(n.String())
		if err != nil || again != n {
			t.Fatalf("round trip of %q: %+v, %v", s, again, err)
		}
	})
}
