package rida_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rida-build/rida"
)

func TestParseSCMURL(t *testing.T) {
	const hash = "620ec77b8b1e3a0e7bf3b0d0d1a7b8f6a2c9e001"
	tests := []struct {
		raw                          string
		repo, path, commit, scheme   string
		repoName, modulemdPathForFoo string
	}{
		// MBS's form, with and without .git; the file is <name>.yaml.
		{"https://src.fedoraproject.org/modules/testmodule.git?#620ec77",
			"https://src.fedoraproject.org/modules/testmodule.git", "", "620ec77", "https", "testmodule", "foo.yaml"},
		{"https://src.fedoraproject.org/modules/testmodule?#" + hash,
			"https://src.fedoraproject.org/modules/testmodule", "", hash, "https", "testmodule", "foo.yaml"},
		{"git://pkgs.example.org/modules/foo?#f39",
			"git://pkgs.example.org/modules/foo", "", "f39", "git", "foo", "foo.yaml"},
		// MBS strips a trailing "/".
		{"https://src.example.org/modules/foo/?#main",
			"https://src.example.org/modules/foo", "", "main", "https", "foo", "foo.yaml"},
		// Seed form: the first element ending in .git ends the repository.
		{"git://pkgs.example.org/modules/foo.git/foo.yaml?#" + hash,
			"git://pkgs.example.org/modules/foo.git", "foo.yaml", hash, "git", "foo", "foo.yaml"},
		{"https://h.example.org/m/bar.git/sub/dir/x.yaml?#feature/x",
			"https://h.example.org/m/bar.git", "sub/dir/x.yaml", "feature/x", "https", "bar", "sub/dir/x.yaml"},
		{"https://h.example.org/a.git/b.git/c.yaml?#main",
			"https://h.example.org/a.git", "b.git/c.yaml", "main", "https", "a", "b.git/c.yaml"},
		// MBS's git+ schemes are rewritten.
		{"git+https://src.example.org/modules/foo.git?#abc1234",
			"https://src.example.org/modules/foo.git", "", "abc1234", "https", "foo", "foo.yaml"},
		{"git+http://src.example.org/modules/foo?#abc1234",
			"http://src.example.org/modules/foo", "", "abc1234", "http", "foo", "foo.yaml"},
		{"git+ssh://git@src.example.org:2222/modules/foo.git?#abc1234",
			"ssh://git@src.example.org:2222/modules/foo.git", "", "abc1234", "ssh", "foo", "foo.yaml"},
		{"ssh://pkgs.example.org/modules/foo?#abc1234",
			"ssh://pkgs.example.org/modules/foo", "", "abc1234", "ssh", "foo", "foo.yaml"},
		{"https://[::1]:8443/modules/foo?#abc1234",
			"https://[::1]:8443/modules/foo", "", "abc1234", "https", "foo", "foo.yaml"},
		{"file:///srv/git/modules/foo.git/foo.yaml?#main",
			"file:///srv/git/modules/foo.git", "foo.yaml", "main", "file", "foo", "foo.yaml"},
		{"file:///srv/git/modules/foo?#main",
			"file:///srv/git/modules/foo", "", "main", "file", "foo", "foo.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			u, err := rida.ParseSCMURL(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			want := rida.SCMURL{Raw: tt.raw, Repo: tt.repo, Path: tt.path, Commit: tt.commit, Scheme: tt.scheme}
			if u != want {
				t.Errorf("got  %+v\nwant %+v", u, want)
			}
			if got := u.RepoName(); got != tt.repoName {
				t.Errorf("RepoName() = %q, want %q", got, tt.repoName)
			}
			if got := u.ModulemdPath("foo"); got != tt.modulemdPathForFoo {
				t.Errorf("ModulemdPath(foo) = %q, want %q", got, tt.modulemdPathForFoo)
			}
			if u.String() != tt.raw {
				t.Errorf("String() = %q", u.String())
			}
		})
	}
}

func TestParseSCMURLInvalid(t *testing.T) {
	for _, raw := range []string{
		"",
		"https://src.example.org/modules/foo.git",          // no ?#commit (MBS requires #revision)
		"https://src.example.org/modules/foo.git?#",        // empty commit
		"https://src.example.org/modules/foo.git#abc",      // "#" without "?"
		"https://src.example.org/modules/foo.git?x=1#abc",  // a query
		"src.example.org/modules/foo.git?#abc",             // no scheme
		"git@src.example.org:modules/foo.git?#abc",         // scp-like form
		"ftp://src.example.org/modules/foo.git?#abc",       // unsupported scheme
		"git+rsync://src.example.org/modules/foo.git?#abc", // rsync transport is gone from git
		"HTTPS://src.example.org/modules/foo.git?#abc",     // schemes are lower case
		"--upload-pack=touch /tmp/pwned?#abc",              // option
		"-oProxyCommand=touch /tmp/x?#abc",                 // option
		"ssh://-oProxyCommand=touch%20x/foo?#abc",          // host read as an option by ssh
		"ssh://-oProxyCommand=x/foo?#abc",                  // host read as an option by ssh
		"ssh://-user@host/foo?#abc",                        // user read as an option
		"https://user:secret@src.example.org/m/foo?#abc",   // password
		"git://user@src.example.org/m/foo?#abc",            // user on git://
		"https://src.example.org?#abc",                     // no path
		"https://src.example.org/?#abc",                    // empty path
		"https:///modules/foo?#abc",                        // no host
		"file://host/srv/foo?#abc",                         // file with a host
		"https://src.example.org/modules/../rpms/foo?#abc", // dot-dot escapes the prefix
		"https://src.example.org/modules/./foo?#abc",
		"https://000000000000000000000/.git?#0",                // fuzz finding: a repository named ""
		"https://h.example.org/m/foo.git/.git/x?#abc",          // dot element
		"https://src.example.org/modules//foo?#abc",            // empty element
		"https://src.example.org/modules/%2e%2e/rpms/x?#abc",   // percent-encoding
		"https://src.example.org/modules/-foo?#abc",            // element read as an option
		"https://src.example.org/modules/foo bar?#abc",         // space
		"https://src.example.org/modules/foo\n?#abc",           // control character
		"https://src.example.org/modules/foo?#--upload-pack=x", // commit read as an option
		"https://src.example.org/modules/foo?#a..b",            // bad ref
		"https://src.example.org/modules/foo?#a b",             // bad ref
		"https://src.example.org/modules/foo?#a:b",             // bad ref
		"https://src.example.org/modules/foo?#x?#y",            // bad ref
		"https://src.example.org/modules/foo?#a\x00",           // NUL
		"https://src.example.org/modules/\xff?#abc",            // not UTF-8
		"https://src.example.org/m/" + strings.Repeat("a", 3000) + "?#abc",
	} {
		t.Run(raw, func(t *testing.T) {
			u, err := rida.ParseSCMURL(raw)
			if err == nil {
				t.Fatalf("parsed as %+v", u)
			}
			if code := rida.ErrorCodeOf(err); code != rida.CodeInvalid {
				t.Errorf("code %q, want invalid", code)
			}
			if want := "The submitted scmurl " + raw + " is not valid"; rida.ErrorMessageOf(err) != want {
				t.Errorf("message %q, want %q", rida.ErrorMessageOf(err), want)
			}
		})
	}
}

func TestCheckGitRef(t *testing.T) {
	for _, ref := range []string{
		"main", "f39", "feature/x", "v1.2.3", "620ec77", "rhel-8.0.0", "a@b",
		strings.Repeat("0", 40), strings.Repeat("a", 64),
	} {
		if err := rida.CheckGitRef(ref); err != nil {
			t.Errorf("CheckGitRef(%q) = %v", ref, err)
		}
	}
	for _, ref := range []string{
		"", "-x", "--upload-pack=touch /tmp/pwned", "-oProxyCommand=x", "@",
		"a..b", "a@{1}", "/a", "a/", "a.", "a//b", "a b", "a\tb", "a\x00", "a\x7f",
		"a~1", "a^", "a:b", "a?", "a*", "a[b", `a\b`, ".a", "a/.b", "a.lock", "a/b.lock/c",
		strings.Repeat("a", 256),
	} {
		err := rida.CheckGitRef(ref)
		if err == nil {
			t.Errorf("CheckGitRef(%q) accepted", ref)
			continue
		}
		if rida.ErrorCodeOf(err) != rida.CodeInvalid || !strings.Contains(err.Error(), "is not a valid git ref") {
			t.Errorf("CheckGitRef(%q) = %v, want CodeInvalid naming the ref", ref, err)
		}
	}
}

func TestSCMPolicyCheck(t *testing.T) {
	policy := rida.SCMPolicy{AllowedPrefixes: []string{
		"https://src.fedoraproject.org/modules/",
		"git+https://pkgs.example.org/modules", // normalised, and without a trailing "/"
		"",                                     // ignored, allows nothing
		"file:///srv/git/",
	}}
	tests := []struct {
		raw     string
		allowed bool
	}{
		{"https://src.fedoraproject.org/modules/testmodule.git?#620ec77", true},
		{"git+https://src.fedoraproject.org/modules/testmodule.git?#620ec77", true},
		{"https://src.fedoraproject.org/rpms/testmodule.git?#620ec77", false},
		{"http://src.fedoraproject.org/modules/testmodule.git?#620ec77", false},
		{"https://pkgs.example.org/modules/foo.git/foo.yaml?#main", true},
		{"https://pkgs.example.org/modules-evil/foo?#main", false}, // not at a "/" boundary
		{"https://pkgs.example.org/modulesx?#main", false},
		{"https://src.fedoraproject.org.evil.com/modules/x?#main", false},
		{"file:///srv/git/foo?#main", true},
		{"file:///srv/gitx/foo?#main", false},
		{"file:///etc/foo?#main", false},
	}
	for _, tt := range tests {
		u, err := rida.ParseSCMURL(tt.raw)
		if err != nil {
			t.Fatal(err)
		}
		err = policy.Check(u)
		if tt.allowed != (err == nil) {
			t.Errorf("Check(%s) = %v, want allowed=%v", tt.raw, err, tt.allowed)
			continue
		}
		if err != nil {
			if rida.ErrorCodeOf(err) != rida.CodeForbidden || rida.ErrorMessageOf(err) != "The submitted scmurl "+tt.raw+" is not allowed" {
				t.Errorf("Check(%s) = %v, want MBS's 403", tt.raw, err)
			}
		}
	}

	// file:// needs a file:// prefix: a catch-all on other schemes is not one.
	u, err := rida.ParseSCMURL("file:///srv/git/foo?#main")
	if err != nil {
		t.Fatal(err)
	}
	if err := (rida.SCMPolicy{AllowedPrefixes: []string{"", "https://", "git://"}}).Check(u); err == nil {
		t.Error("file:// allowed without a file:// prefix")
	}
	// No prefixes allow nothing.
	u, err = rida.ParseSCMURL("https://src.fedoraproject.org/modules/testmodule.git?#620ec77")
	if err != nil {
		t.Fatal(err)
	}
	if err := (rida.SCMPolicy{}).Check(u); rida.ErrorCodeOf(err) != rida.CodeForbidden {
		t.Errorf("empty policy: %v", err)
	}
	if err := (rida.SCMPolicy{AllowedPrefixes: []string{"https://"}}).Check(u); err != nil {
		t.Errorf("https:// prefix: %v", err)
	}
}

func TestComponentRepoURL(t *testing.T) {
	tests := []struct{ base, name, repo, want string }{
		{"https://src.fedoraproject.org/rpms/", "perl", "", "https://src.fedoraproject.org/rpms/perl"},
		{"https://src.fedoraproject.org/rpms", "perl", "", "https://src.fedoraproject.org/rpms/perl"},
		{"file:///srv/rpms/", "tiny", "", "file:///srv/rpms/tiny"},
		{"https://src.fedoraproject.org/rpms/", "perl", "https://git.example.org/perl.git", "https://git.example.org/perl.git"},
	}
	for _, tt := range tests {
		if got := rida.ComponentRepoURL(tt.base, tt.name, tt.repo); got != tt.want {
			t.Errorf("ComponentRepoURL(%q, %q, %q) = %q, want %q", tt.base, tt.name, tt.repo, got, tt.want)
		}
	}
}

// FuzzParseSCMURL checks that parsing never panics and that what parses
// keeps the invariants git and the prefix check rely on.
func FuzzParseSCMURL(f *testing.F) {
	for _, s := range []string{
		"https://src.fedoraproject.org/modules/testmodule.git?#620ec77",
		"git://pkgs.example.org/modules/foo.git/foo.yaml?#0123456789abcdef0123456789abcdef01234567",
		"git+ssh://git@host:22/a/b.git/c/d.yaml?#feature/x",
		"file:///srv/git/foo?#main",
		"ext::sh -c touch% /tmp/x?#a",
		"ssh://-oProxyCommand=x/foo?#a",
		"https://h/a/../b?#a",
		"https://[::1]:8443/m/x?#v1.0",
		"https://000000000000000000000/.git?#0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := rida.ParseSCMURL(raw)
		if err != nil {
			var e *rida.Error
			if !errors.As(err, &e) || e.Code != rida.CodeInvalid && e.Code != rida.CodeForbidden {
				t.Fatalf("error %v is neither CodeInvalid nor CodeForbidden", err)
			}
			return
		}
		if u.Raw != raw {
			t.Fatalf("Raw %q != %q", u.Raw, raw)
		}
		switch u.Scheme {
		case "git", "http", "https", "ssh", "file":
		default:
			t.Fatalf("scheme %q", u.Scheme)
		}
		if !strings.HasPrefix(u.Repo, u.Scheme+"://") {
			t.Fatalf("Repo %q does not start with its scheme %q", u.Repo, u.Scheme)
		}
		if strings.HasPrefix(u.Repo, "-") || strings.HasPrefix(u.Commit, "-") || strings.HasPrefix(u.Path, "-") {
			t.Fatalf("leading '-' in %+v", u)
		}
		if rida.CheckGitRef(u.Commit) != nil {
			t.Fatalf("commit %q does not pass CheckGitRef", u.Commit)
		}
		if strings.ContainsAny(u.Repo+u.Path, "?#% \\\x00\n") || strings.Contains(u.Repo+"/"+u.Path+"/", "/../") {
			t.Fatalf("unsafe characters in %+v", u)
		}
		if u.RepoName() == "" || strings.Contains(u.RepoName(), "/") {
			t.Fatalf("RepoName %q of %+v", u.RepoName(), u)
		}
		_, rest, _ := strings.Cut(u.Repo, "://")
		if host, _, _ := strings.Cut(rest, "/"); strings.HasPrefix(host, "-") || u.Scheme == "file" && host != "" {
			t.Fatalf("host %q of %+v", host, u)
		}
		// Parsing is stable: the parts put back together parse the same.
		again := u.Repo
		if u.Path != "" {
			again += "/" + u.Path
		}
		u2, err := rida.ParseSCMURL(again + "?#" + u.Commit)
		if err != nil {
			t.Fatalf("re-parse of %q: %v", again, err)
		}
		if u2.Repo != u.Repo || u2.Path != u.Path || u2.Commit != u.Commit || u2.Scheme != u.Scheme {
			t.Fatalf("re-parse %+v != %+v", u2, u)
		}
		// Every policy allowing the URL's own repository allows it; file://
		// is never allowed by a non-file prefix.
		if err := (rida.SCMPolicy{AllowedPrefixes: []string{u.Repo}}).Check(u); err != nil {
			t.Fatalf("own repository prefix refused: %v", err)
		}
		if u.Scheme == "file" {
			if err := (rida.SCMPolicy{AllowedPrefixes: []string{"https://", "git://", "ssh://", "http://"}}).Check(u); err == nil {
				t.Fatalf("file URL allowed by a non-file prefix")
			}
		}
	})
}

// TestParseSCMURL_TransportHelpers: git's <transport>::<address> form runs
// programs (ext:: any command), so it is forbidden (403), not merely invalid.
func TestParseSCMURL_TransportHelpers(t *testing.T) {
	for _, raw := range []string{"ext::sh -c touch% /tmp/x?#abc", "ext::sh?#abc", "fd::3?#abc", "file::/srv/x?#abc", "ExT::x?#a"} {
		_, err := rida.ParseSCMURL(raw)
		if rida.ErrorCodeOf(err) != rida.CodeForbidden || !strings.Contains(err.Error(), "transport helpers") {
			t.Errorf("ParseSCMURL(%q) = %v, want a forbidden transport-helper error", raw, err)
		}
	}
}
