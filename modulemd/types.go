package modulemd

import "fmt"

// Document types as written in the `document:` header.
const (
	DocModulemd     = "modulemd"
	DocPackager     = "modulemd-packager"
	DocDefaults     = "modulemd-defaults"
	DocObsoletes    = "modulemd-obsoletes"
	DocTranslations = "modulemd-translations"
)

// Stream is a module stream, metadata version 1 or 2 (`document: modulemd`).
// Both versions share one type because v2 is a strict superset of v1: a v1
// stream is a Stream with MdVersion 1 whose v2-only fields are empty, and
// UpgradeV2 only has to change MdVersion. Sets (licenses, rpm lists, arches,
// dependency streams) are kept sorted and de-duplicated, like libmodulemd.
type Stream struct {
	// MdVersion is 1 or 2; it selects the output layout.
	MdVersion uint64

	Name    string
	Stream  string
	Version uint64 // 0 means unset and is not emitted
	Context string
	Arch    string
	// StaticContext marks Context as chosen by the packager (v2 only); it
	// switches on the context character and length checks.
	StaticContext bool

	Summary     string
	Description string

	// ServiceLevels maps a service-level name to its end-of-life date. A v1
	// `eol:` is stored as the "rawhide" service level, as libmodulemd does.
	ServiceLevels map[string]Date

	ModuleLicenses  []string
	ContentLicenses []string

	// XMD is the free-form extensible metadata: map[string]any, []any,
	// string or bool (only the exact scalars TRUE and FALSE are booleans).
	// nil means no xmd.
	XMD any

	// Dependencies holds the v2 dependency blocks in input order. A v1 stream
	// has at most one block with exactly one stream per module.
	Dependencies []*Dependencies

	Community     string
	Documentation string
	Tracker       string

	Profiles map[string]*Profile

	APIRPMs           []string
	FilterRPMs        []string
	DemodularizedRPMs []string // v2 only

	// Buildopts is nil when the document has no buildopts section.
	Buildopts *Buildopts

	RPMComponents    map[string]*RPMComponent
	ModuleComponents map[string]*ModuleComponent

	RPMArtifacts []string
	// RPMMap maps digest type → checksum → entry (v2 only).
	RPMMap map[string]map[string]*RPMMapEntry

	// noSummary and noDescription record that the key was absent, which
	// libmodulemd rejects, while an empty value is accepted.
	noSummary, noDescription bool
	pos                      position
}

// Date is a calendar date (service-level end of life). The zero Date is unset.
type Date struct {
	Year, Month, Day int
}

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d == Date{} }

// String formats the date the way libmodulemd writes it, YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// Dependencies is one dependency block of a v2 stream: module name → set of
// streams. An empty set means "any stream"; streams prefixed with "-" are
// exclusions and may not be mixed with plain ones.
type Dependencies struct {
	BuildRequires map[string][]string
	Requires      map[string][]string
}

// Profile is a named set of packages to install together.
type Profile struct {
	Name        string
	Description string
	RPMs        []string
	// Default marks the profile as a default one (packager v3; libmodulemd
	// also accepts and writes it in stream v2).
	Default bool
}

// Buildopts are the build options of a stream or build configuration.
type Buildopts struct {
	RPMMacros    string
	RPMWhitelist []string
	Arches       []string
}

// RPMComponent is one entry of components.rpms, keyed by Key.
type RPMComponent struct {
	Key string
	// Name overrides the package name when it differs from Key; it is empty
	// when equal to Key (libmodulemd drops it then too).
	Name          string
	Rationale     string
	Repository    string
	Cache         string
	Ref           string
	Buildroot     bool
	SRPMBuildroot bool
	Buildonly     bool
	// Buildorder is the full 64-bit value from the file; see the package
	// documentation for why it is not truncated to 32 bits.
	Buildorder int64
	Buildafter []string
	Arches     []string
	Multilib   []string

	pos position
}

// PackageName returns the SRPM name: Name if set, else Key.
func (c *RPMComponent) PackageName() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Key
}

// ModuleComponent is one entry of components.modules (a bundled module).
type ModuleComponent struct {
	Key        string
	Rationale  string
	Repository string
	Ref        string
	Buildorder int64
	Buildonly  bool

	pos position
}

// RPMMapEntry describes one built RPM in artifacts.rpm-map.
type RPMMapEntry struct {
	Name    string
	Epoch   uint64
	Version string
	Release string
	Arch    string
	Nevra   string

	pos position
}

// Defaults is a `modulemd-defaults` v1 document: the default stream and
// default profiles of one module.
type Defaults struct {
	Module   string
	Modified uint64
	// Stream is the default stream; empty means none.
	Stream string
	// Profiles maps a stream name to its default profile names.
	Profiles map[string][]string
	// Intents is deprecated system-intent specific defaults.
	Intents map[string]*Intent

	pos position
}

// Intent is a deprecated system-intent override inside Defaults.
type Intent struct {
	Name     string
	Stream   string
	Profiles map[string][]string
}

// Obsoletes is a `modulemd-obsoletes` v1 document. Modified and EOLDate are
// stored as libmodulemd stores them, as the number YYYYMMDDhhmm.
type Obsoletes struct {
	Modified          uint64
	Reset             bool
	Module            string
	Stream            string
	Context           string
	EOLDate           uint64
	Message           string
	ObsoletedByModule string
	ObsoletedByStream string

	pos position
}

// Translation is a `modulemd-translations` v1 document.
type Translation struct {
	Module   string
	Stream   string
	Modified uint64
	Entries  map[string]*TranslationEntry

	// order is the locales in input order; libmodulemd writes them in
	// hash-table order, which depends on insertion order.
	order []string
	pos   position
}

// TranslationEntry holds the strings of one locale.
type TranslationEntry struct {
	Locale      string
	Summary     string
	Description string
	// Profiles maps a profile name to its translated description.
	Profiles map[string]string
}

// PackagerV3 is a `modulemd-packager` v3 document, the input format in
// which a packager lists build configurations instead of dependencies.
type PackagerV3 struct {
	Name        string
	Stream      string
	Summary     string
	Description string
	// Licenses is the module license set; empty means the default, MIT.
	Licenses       []string
	XMD            any
	Configurations map[string]*BuildConfig

	Community     string
	Documentation string
	Tracker       string

	Profiles          map[string]*Profile
	APIRPMs           []string
	FilterRPMs        []string
	DemodularizedRPMs []string

	RPMComponents    map[string]*RPMComponent
	ModuleComponents map[string]*ModuleComponent

	pos position
}

// BuildConfig is one build configuration of a packager v3 document.
type BuildConfig struct {
	Context  string
	Platform string
	// BuildRequires and Requires map a module to its single stream.
	BuildRequires map[string]string
	Requires      map[string]string
	Buildopts     *Buildopts
}

// position remembers where an object started in the user's file, for errors
// found after parsing (validation, index merging).
type position struct {
	file      string
	doc       int
	line, col int
}
