package expand

import (
	"crypto/sha1"
	"encoding/hex"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultBaseModuleNames is MBS's BASE_MODULE_NAMES default.
var DefaultBaseModuleNames = []string{"platform"}

// DefaultModuleContext is the context MBS gives imported modules without one.
const DefaultModuleContext = "00000000"

// pyJSONString appends s as Python's json.dumps writes a str with its
// defaults (ensure_ascii=True): only printable ASCII (space to '~') is kept,
// everything else is escaped, non-BMP characters as a surrogate pair. The
// context hashes are sha1 sums of these bytes, so one byte of difference
// would give every rida build a different context than MBS.
func pyJSONString(b []byte, s string) []byte {
	const hexdigits = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s { // invalid UTF-8 reads as U+FFFD; Python str cannot hold it anyway
		switch {
		case r == '"':
			b = append(b, '\\', '"')
		case r == '\\':
			b = append(b, '\\', '\\')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r == '\b':
			b = append(b, '\\', 'b')
		case r == '\f':
			b = append(b, '\\', 'f')
		case r >= ' ' && r <= '~':
			b = append(b, byte(r))
		default:
			units := []rune{r}
			if r > 0xFFFF {
				r -= 0x10000
				units = []rune{0xD800 + (r>>10)&0x3FF, 0xDC00 + r&0x3FF}
			}
			for _, u := range units {
				b = append(b, '\\', 'u', hexdigits[u>>12&0xF], hexdigits[u>>8&0xF], hexdigits[u>>4&0xF], hexdigits[u&0xF])
			}
		}
	}
	return append(b, '"')
}

// pyJSONObject writes a map as json.dumps(OrderedDict(sorted(m.items())))
// does: keys in code-point order (byte order of UTF-8), separators ", " and
// ": ". val writes one value.
func pyJSONObject[V any](m map[string]V, val func([]byte, V) []byte) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',', ' ')
		}
		b = pyJSONString(b, k)
		b = append(b, ':', ' ')
		b = val(b, m[k])
	}
	return append(b, '}')
}

// pyJSONList writes a list of strings as json.dumps does: ["a", "b"].
func pyJSONList(b []byte, l []string) []byte {
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',', ' ')
		}
		b = pyJSONString(b, s)
	}
	return append(b, ']')
}

func sha1Hex(b []byte) string {
	h := sha1.Sum(b)
	return hex.EncodeToString(h[:])
}

// BuildContext is MBS's build_context: the sha1 of the Python JSON form of
// the sorted map buildrequired name → stream (xmd.mbs.buildrequires, which
// includes the transitive runtime requires of the buildrequires). Names in
// exclude are left out; BuildContext(brs, baseModuleNames) is
// build_context_no_bms.
func BuildContext(streams map[string]string, exclude ...string) string {
	m := streams
	if len(exclude) > 0 {
		m = make(map[string]string, len(streams))
		for k, v := range streams {
			if !slices.Contains(exclude, k) {
				m[k] = v
			}
		}
	}
	return sha1Hex(pyJSONObject(m, pyJSONString))
}

// RuntimeContext is MBS's runtime_context: the sha1 of the Python JSON form
// of the sorted map required name → sorted union of its runtime streams over
// all dependency blocks. blocks are the requires of each dependency block.
func RuntimeContext(blocks ...map[string][]string) string {
	union := map[string][]string{}
	for _, req := range blocks {
		for name, streams := range req {
			union[name] = append(union[name], streams...)
		}
	}
	for name, streams := range union {
		slices.Sort(streams)
		union[name] = slices.Compact(streams)
	}
	return sha1Hex(pyJSONObject(union, pyJSONList))
}

// Context is MBS's module context: the first 8 hex digits of
// sha1("<build_context>:<runtime_context>").
func Context(buildContext, runtimeContext string) string {
	return sha1Hex([]byte(buildContext + ":" + runtimeContext))[:8]
}

// RefBuildContext is the pre-2018 build_context MBS stored as
// ref_build_context: the same hash over name → ref (commit) of each
// buildrequire. Only data migrations need it.
func RefBuildContext(refs map[string]string) string {
	return sha1Hex(pyJSONObject(refs, pyJSONString))
}

// StreamSuffix is one STREAM_SUFFIXES entry: when Pattern matches at the
// start of a stream (Python re.match), Add is added to its stream version,
// so that e.g. "el8.1.0.z" sorts after "el8.1.0".
type StreamSuffix struct {
	Pattern *regexp.Regexp
	Add     float64
}

// StreamVersion is MBS's get_stream_version: the number a base module stream
// is ordered by. It takes the digits and dots from the first digit on,
// stopping at the first other character, strips trailing dots, left-pads
// each dot-separated section to two digits and concatenates them; rightPad
// then pads with zeros to six digits ("f28" → 280000, "el8.2.1" → 80201,
// "f27.02.30" → 270230; unpadded "f28" → 28). The first suffix whose pattern
// matches adds its value. ok is false when the stream has no digit. Digits are
// Unicode decimal digits, as Python's int(char) accepts them.
func StreamVersion(stream string, rightPad bool, suffixes []StreamSuffix) (v float64, ok bool) {
	digits, ok := streamVersionDigits(stream, rightPad)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(digits, 64)
	if err != nil { // only digits, so only a range error is possible: Python gives inf too
		v = math.Inf(1)
	}
	for _, s := range suffixes {
		if s.Pattern == nil {
			continue
		}
		if loc := s.Pattern.FindStringIndex(stream); loc != nil && loc[0] == 0 {
			v += s.Add
			break
		}
	}
	return v, true
}

// streamVersionDigits is the digit string StreamVersion parses.
func streamVersionDigits(stream string, rightPad bool) (string, bool) {
	var raw []byte
	for _, r := range stream {
		if d, isDigit := decimalValue(r); isDigit {
			raw = append(raw, '0'+byte(d))
		} else if r == '.' && len(raw) > 0 {
			raw = append(raw, '.')
		} else if len(raw) > 0 {
			break
		}
	}
	s := strings.TrimRight(string(raw), ".")
	if s == "" {
		return "", false
	}
	var b strings.Builder
	for sec := range strings.SplitSeq(s, ".") {
		if len(sec) < 2 {
			b.WriteString("00"[len(sec):])
		}
		b.WriteString(sec)
	}
	out := b.String()
	if rightPad && len(out) < 6 {
		out += "000000"[len(out):]
	}
	return out, true
}

// decimalValue returns the value of a Unicode decimal digit (category Nd).
// Nd digits come in runs of ten from zero, so the offset in the run is the
// value.
func decimalValue(r rune) (int, bool) {
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	if r < 0x80 || !unicode.IsDigit(r) {
		return 0, false
	}
	for _, rg := range unicode.Digit.R16 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, true
		}
	}
	for _, rg := range unicode.Digit.R32 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, true
		}
	}
	return 0, false
}

// PyFloatRepr formats f as Python's str(float) does (shortest round-trip
// digits, ".0" for integral values, exponent form from 1e16 on). MBS uses it
// as the libsolv version of base-module provides and to test for the "x.y.z"
// form (len ≥ 5).
func PyFloatRepr(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // [-]d[.ddd]e±XX
	sign := ""
	if e[0] == '-' {
		sign, e = "-", e[1:]
	}
	mant, exps, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(exps)
	digits := strings.Replace(mant, ".", "", 1)
	decpt := exp + 1
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			return sign + "0." + strings.Repeat("0", -decpt) + digits
		case decpt >= len(digits):
			return sign + digits + strings.Repeat("0", decpt-len(digits)) + ".0"
		default:
			return sign + digits[:decpt] + "." + digits[decpt:]
		}
	}
	m := digits[:1]
	if len(digits) > 1 {
		m += "." + digits[1:]
	}
	es := "+"
	if exp < 0 {
		es, exp = "-", -exp
	}
	x := strconv.Itoa(exp)
	if len(x) < 2 {
		x = "0" + x
	}
	return sign + m + "e" + es + x
}

// IsXYZ reports MBS's "stream is in x.y.z form" test:
// len(str(get_stream_version(stream, right_pad=False))) >= 5.
func IsXYZ(stream string, suffixes []StreamSuffix) bool {
	v, ok := StreamVersion(stream, false, suffixes)
	return ok && len(PyFloatRepr(v)) >= 5
}

// PrefixedVersion is MBS's get_prefixed_version: the integer part of the
// unpadded stream version of the base module stream, followed by the digits
// of version ("f28" + 20180205135154 → 2820180205135154). baseStream is the
// stream of the first base module in xmd.mbs.buildrequires, "" when there is
// none. The version is returned unchanged (ok false) without a base module,
// without digits in its stream, or when the result does not fit in uint64,
// as MBS leaves it unprefixed then.
func PrefixedVersion(baseStream string, version uint64, suffixes []StreamSuffix) (uint64, bool) {
	if baseStream == "" {
		return version, false
	}
	sv, ok := StreamVersion(baseStream, false, suffixes)
	if !ok || math.IsInf(sv, 0) || math.IsNaN(sv) {
		return version, false
	}
	// int(math.floor(x)) is exact in Python, so the prefix of a huge float
	// is all of its (exact binary) integer digits, not a rounded form.
	prefix, _ := new(big.Float).SetFloat64(math.Floor(sv)).Int(nil)
	n, err := strconv.ParseUint(prefix.String()+strconv.FormatUint(version, 10), 10, 64)
	if err != nil {
		return version, false
	}
	return n, true
}

// KojiTag is MBS's generate_koji_tag: "module-<n>-<s>-<v>-<c>", or, when
// that plus "-build" would be longer than maxLength characters,
// "module-" + the first 16 hex digits of sha1("<n>.<s>.<v>.<c>"). Scratch
// builds use the prefix "scrmod-" and the suffix "+<scratchID>". MBS uses
// maxLength 256 (Koji's limit) for tags and 56 for build targets.
func KojiTag(name, stream string, version uint64, context string, maxLength int, scratch bool, scratchID int64) string {
	prefix, suffix := "module-", ""
	if scratch {
		prefix, suffix = "scrmod-", "+"+strconv.FormatInt(scratchID, 10)
	}
	v := strconv.FormatUint(version, 10)
	tag := prefix + name + "-" + stream + "-" + v + "-" + context + suffix
	// Python's len counts characters, not bytes.
	if utf8.RuneCountInString(tag)+len("-build") > maxLength {
		return prefix + sha1Hex([]byte(name + "." + stream + "." + v + "." + context))[:16] + suffix
	}
	return tag
}

// Maximum lengths MBS passes to generate_koji_tag.
const (
	KojiTagMaxLength    = 256
	KojiTargetMaxLength = 56
)

// RPMRelease is MBS's get_rpm_release, the dist tag of a module's components
// without its leading dot: "<prefix><marking+><index>+<hash>", e.g.
// "module+f28+2+814cfa39". prefix is "scrmod+" for scratch builds, else
// DEFAULT_DIST_TAG_PREFIX ("module+"); marking is DisttagMarking's result
// ("f28+", or "" without a marking module); index is the lowest id among the build and its MSE
// siblings; the hash is sha1("<n>.<s>.<v>.<c>")[:8].
func RPMRelease(prefix, marking string, index int64, name, stream string, version uint64, context string) string {
	h := sha1Hex([]byte(name + "." + stream + "." + strconv.FormatUint(version, 10) + "." + context))[:8]
	return prefix + marking + strconv.FormatInt(index, 10) + "+" + h
}

// Dist tag prefixes of RPMRelease.
const (
	DefaultDistTagPrefix = "module+"
	ScratchDistTagPrefix = "scrmod+"
)

// MarkingSource is what DisttagMarking needs of a buildrequired module
// found in the database.
type MarkingSource struct {
	Stream string
	// DisttagMarking is its xmd.mbs.disttag_marking; HasMarking says
	// whether the key is set at all.
	DisttagMarking string
	HasMarking     bool
}

// DisttagMarking chooses the marking of RPMRelease as MBS does, "+"
// included ("f28+"), "" for none: over
// privileged names then base module names, in order, the first one
// buildrequired (lookup returns it, ok when it is in xmd buildrequires and
// in the database) gives its disttag_marking; a privileged module without
// one is skipped, a base module without one gives its stream.
func DisttagMarking(privileged, baseModules []string, lookup func(name string) (MarkingSource, bool)) string {
	for _, name := range slices.Concat(privileged, baseModules) {
		m, ok := lookup(name)
		if !ok {
			continue
		}
		if m.HasMarking {
			return m.DisttagMarking + "+"
		}
		if !slices.Contains(baseModules, name) {
			continue
		}
		return m.Stream + "+"
	}
	return ""
}
