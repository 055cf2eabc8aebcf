package rida

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// SCMURL is a parsed module source URL: the repository, the modulemd file
// inside it, and the commit (or branch) to build.
//
// Two forms are accepted:
//
//   - MBS's form, <repo>?#<commit>, e.g.
//     https://src.fedoraproject.org/modules/testmodule.git?#620ec77 (with or
//     without ".git"). The modulemd file is <name>.yaml at the repository
//     root, so Path is "".
//   - rida's seed form, which names the file inside the repository:
//     git://pkgs.example.org/modules/foo.git/foo.yaml?#<commit>. The first
//     path element ending in ".git" ends the repository; what follows is
//     the file's path.
//
// Schemes: git, http, https, ssh, file, and MBS's git+http, git+https and
// git+ssh, which are rewritten to http, https and ssh as MBS does. scp-like
// "user@host:path" is refused: it cannot be told apart from a local path
// with a colon, and git gives it its own, looser parsing; write ssh://.
// git+rsync is refused: git dropped the rsync transport.
//
// The parser is stricter than MBS's regular expression where being lax would
// let a URL mean something else to git than to the prefix check: no
// percent-encoding, no ".", ".." or ".git" path elements, no empty path elements,
// no passwords, no element (or host, or user) starting with "-".
type SCMURL struct {
	// Raw is the URL as submitted; it is what error messages and the stored
	// build show.
	Raw string
	// Repo is the repository URL handed to git: normalised scheme, host and
	// repository path, without the file path, query or commit.
	Repo string
	// Path is the modulemd file inside the repository (seed form), or ""
	// for MBS's form.
	Path string
	// Commit is the part after "?#", kept as given: a short or full commit
	// hash or a branch name.
	Commit string
	// Scheme is Repo's scheme: git, http, https, ssh or file.
	Scheme string
}

// String returns the URL as submitted.
func (u SCMURL) String() string { return u.Raw }

// ModulemdPath returns the modulemd file inside the repository: Path when the
// URL names one, else "<moduleName>.yaml" at the repository root, where MBS
// looks for it.
func (u SCMURL) ModulemdPath(moduleName string) string {
	if u.Path != "" {
		return u.Path
	}
	return moduleName + ".yaml"
}

// RepoName returns the last path element of Repo without ".git"; MBS takes
// the module's name from it.
func (u SCMURL) RepoName() string {
	name := u.Repo[strings.LastIndexByte(u.Repo, '/')+1:]
	return strings.TrimSuffix(name, ".git")
}

// maxSCMURLLen bounds what is parsed and stored; real URLs are far shorter.
const maxSCMURLLen = 2048

// scmSchemes maps the accepted spellings to the scheme git is given.
var scmSchemes = map[string]string{
	"git":       "git",
	"http":      "http",
	"https":     "https",
	"ssh":       "ssh",
	"file":      "file",
	"git+http":  "http",
	"git+https": "https",
	"git+ssh":   "ssh",
}

// hostRe matches a host name or bracketed IP literal with an optional port.
// It starts with an alphanumeric or "[" so a host can never be taken for an
// option by ssh.
var hostRe = regexp.MustCompile(`^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?$`)

// userRe matches the user part of ssh://user@host; no password is accepted
// because the URL is stored and shown.
var userRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)

// ParseSCMURL parses a submitted scmurl. It fails with CodeInvalid "The
// submitted scmurl <url> is not valid" (the reason in Err) when the URL does
// not parse, uses another scheme, or has no "?#<commit>".
func ParseSCMURL(raw string) (SCMURL, error) {
	if transportHelper.MatchString(raw) {
		// git would run <transport>-remote, and ext:: runs any command:
		// this is an attack, not a typo, so it is refused as forbidden.
		return SCMURL{}, &Error{Code: CodeForbidden, Message: fmt.Sprintf("The submitted scmurl %s is not allowed: git transport helpers (<transport>::<address>) are never allowed", raw)}
	}
	u, err := parseSCMURL(raw)
	if err != nil {
		return SCMURL{}, &Error{Code: CodeInvalid, Message: fmt.Sprintf("The submitted scmurl %s is not valid", raw), Err: err}
	}
	return u, nil
}

// transportHelper matches git's "<transport>::<address>" remote syntax.
var transportHelper = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*::`)

func parseSCMURL(raw string) (SCMURL, error) {
	if len(raw) > maxSCMURLLen {
		return SCMURL{}, fmt.Errorf("longer than %d bytes", maxSCMURLLen)
	}
	if strings.HasPrefix(raw, "-") {
		return SCMURL{}, errors.New(`starts with "-"`)
	}
	if !utf8.ValidString(raw) {
		return SCMURL{}, errors.New("not UTF-8")
	}
	for _, r := range raw {
		if r <= ' ' || r == 0x7f || r == '\\' {
			return SCMURL{}, fmt.Errorf("contains the character %q", r)
		}
	}
	base, commit, ok := strings.Cut(raw, "?#")
	if !ok {
		return SCMURL{}, errors.New(`no "?#<commit>"`)
	}
	if err := checkGitRef(commit); err != nil {
		return SCMURL{}, fmt.Errorf("commit: %w", err)
	}
	if strings.ContainsAny(base, "?#%") {
		return SCMURL{}, errors.New(`"?", "#" or "%" in the repository part`)
	}
	spelled, rest, ok := strings.Cut(base, "://")
	if !ok {
		return SCMURL{}, errors.New(`no "<scheme>://" (write ssh://user@host/path, not user@host:path)`)
	}
	scheme, ok := scmSchemes[spelled]
	if !ok {
		return SCMURL{}, fmt.Errorf("unsupported scheme %q", spelled)
	}
	authority, path, ok := strings.Cut(rest, "/")
	if !ok {
		return SCMURL{}, errors.New("no repository path")
	}
	if err := checkAuthority(scheme, authority); err != nil {
		return SCMURL{}, err
	}
	path = strings.TrimSuffix(path, "/") // MBS strips a trailing "/"
	elems := strings.Split(path, "/")
	repoEnd := len(elems)
	for i, e := range elems {
		switch {
		case e == "":
			return SCMURL{}, errors.New("empty path element")
		case e == "." || e == ".." || e == ".git":
			// ".git" alone would leave the repository without a name (a
			// fuzz finding); git allows no ".git" inside a tree either.
			return SCMURL{}, fmt.Errorf("path element %q", e)
		case strings.HasPrefix(e, "-"):
			return SCMURL{}, fmt.Errorf("path element %q starts with \"-\"", e)
		}
		if repoEnd == len(elems) && len(e) > len(".git") && strings.HasSuffix(e, ".git") {
			repoEnd = i + 1
		}
	}
	return SCMURL{
		Raw:    raw,
		Repo:   scheme + "://" + authority + "/" + strings.Join(elems[:repoEnd], "/"),
		Path:   strings.Join(elems[repoEnd:], "/"),
		Commit: commit,
		Scheme: scheme,
	}, nil
}

// checkAuthority checks the [user@]host[:port] part: empty for file (git
// reads file://host/path as a path on this machine anyway, which would
// confuse the prefix check), a valid host otherwise.
func checkAuthority(scheme, authority string) error {
	if scheme == "file" {
		if authority != "" {
			return errors.New("file URLs take no host (file:///path)")
		}
		return nil
	}
	host := authority
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		user := authority[:i]
		host = authority[i+1:]
		if scheme != "ssh" && scheme != "https" && scheme != "http" {
			return errors.New("a user name is only accepted for ssh and http(s)")
		}
		if !userRe.MatchString(user) {
			return fmt.Errorf("invalid user %q (no password, no leading \"-\")", user)
		}
	}
	if !hostRe.MatchString(host) {
		return fmt.Errorf("invalid host %q", host)
	}
	return nil
}

// CheckGitRef checks a branch, tag or commit name as a user gives it, by the
// rules of git check-ref-format (for one name, not a full "refs/..." path)
// plus a ban on a leading "-" so a ref can never be read as an option. It
// returns a CodeInvalid error naming the ref.
func CheckGitRef(ref string) error {
	if err := checkGitRef(ref); err != nil {
		return &Error{Code: CodeInvalid, Message: fmt.Sprintf("The ref %q is not a valid git ref", ref), Err: err}
	}
	return nil
}

// maxGitRefLen bounds a ref; git has no limit, but a longer one is an attack.
const maxGitRefLen = 255

func checkGitRef(ref string) error {
	switch {
	case ref == "":
		return errors.New("empty")
	case len(ref) > maxGitRefLen:
		return fmt.Errorf("longer than %d bytes", maxGitRefLen)
	case strings.HasPrefix(ref, "-"):
		return errors.New(`starts with "-"`)
	case ref == "@":
		return errors.New(`is "@"`)
	case strings.Contains(ref, ".."):
		return errors.New(`contains ".."`)
	case strings.Contains(ref, "@{"):
		return errors.New(`contains "@{"`)
	case strings.HasPrefix(ref, "/") || strings.HasSuffix(ref, "/"):
		return errors.New(`starts or ends with "/"`)
	case strings.HasSuffix(ref, "."):
		return errors.New(`ends with "."`)
	case strings.Contains(ref, "//"):
		return errors.New(`contains "//"`)
	}
	for _, r := range ref {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return fmt.Errorf("contains the character %q", r)
		}
	}
	for e := range strings.SplitSeq(ref, "/") {
		if strings.HasPrefix(e, ".") || strings.HasSuffix(e, ".lock") {
			return fmt.Errorf(`element %q starts with "." or ends with ".lock"`, e)
		}
	}
	return nil
}

// SCMPolicy says which module repositories may be built from.
type SCMPolicy struct {
	// AllowedPrefixes are URL prefixes (MBS's SCMURLS), compared with the
	// parsed repository URL. A prefix not ending in "/" must be followed by
	// "/" or the URL's end, so https://src.example.org does not allow
	// https://src.example.org.evil.com. git+http(s):// prefixes are
	// rewritten like URLs. No prefixes allow nothing.
	AllowedPrefixes []string
}

// Check returns CodeForbidden "The submitted scmurl <url> is not allowed"
// unless u's repository starts with an allowed prefix. file:// URLs are
// allowed only by a prefix starting with file://.
func (p SCMPolicy) Check(u SCMURL) error {
	for _, pre := range p.AllowedPrefixes {
		pre = normalizePrefix(pre)
		if pre == "" || u.Scheme == "file" && !strings.HasPrefix(pre, "file://") {
			continue
		}
		if strings.HasPrefix(u.Repo, pre) &&
			(strings.HasSuffix(pre, "/") || len(u.Repo) == len(pre) || u.Repo[len(pre)] == '/') {
			return nil
		}
	}
	return Errorf(CodeForbidden, "The submitted scmurl %s is not allowed", u.Raw)
}

// normalizePrefix rewrites a prefix's scheme the way ParseSCMURL rewrites a
// URL's, so "git+https://host/" allows what https://host/ allows.
func normalizePrefix(pre string) string {
	if spelled, rest, ok := strings.Cut(pre, "://"); ok {
		if scheme, ok := scmSchemes[spelled]; ok {
			return scheme + "://" + rest
		}
	}
	return pre
}

// ComponentRepoURL returns an RPM component's repository: its own
// "repository" from the modulemd if set, else <rpmsBase>/<name>. As MBS
// (RPMS_DEFAULT_REPOSITORY + name, the base normalised to end in "/"), no
// ".git" is appended.
func ComponentRepoURL(rpmsBase, name, repository string) string {
	if repository != "" {
		return repository
	}
	return strings.TrimRight(rpmsBase, "/") + "/" + name
}
