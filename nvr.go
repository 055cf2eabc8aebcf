package rida

import (
	"strconv"
	"strings"
)

// NVR is a Koji build's name-version-release.
type NVR struct {
	Name, Version, Release string
}

// String returns "name-version-release".
func (n NVR) String() string { return n.Name + "-" + n.Version + "-" + n.Release }

// ParseNVR splits "name-version-release" at its last two dashes; the name may
// contain dashes, version and release may not.
func ParseNVR(s string) (NVR, error) {
	r := strings.LastIndexByte(s, '-')
	if r <= 0 {
		return NVR{}, Errorf(CodeInvalid, "invalid NVR %q: want name-version-release", s)
	}
	v := strings.LastIndexByte(s[:r], '-')
	if v <= 0 {
		return NVR{}, Errorf(CodeInvalid, "invalid NVR %q: want name-version-release", s)
	}
	n := NVR{Name: s[:v], Version: s[v+1 : r], Release: s[r+1:]}
	if n.Version == "" || n.Release == "" {
		return NVR{}, Errorf(CodeInvalid, "invalid NVR %q: empty version or release", s)
	}
	return n, nil
}

func formatUint(v uint64) string { return strconv.FormatUint(v, 10) }
