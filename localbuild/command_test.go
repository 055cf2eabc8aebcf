package localbuild

import (
	"slices"
	"testing"
)

func TestSRPMCommand(t *testing.T) {
	c := SRPMCommand(SRPMArgs{
		Spec: "/src/hello/hello.spec", SourceDir: "/src/hello", TopDir: "/w/srpm",
		MacrosFile: "/w/macros.zz-modules", Dist: ".module+f40+1+abcdef12",
	})
	want := []string{
		"-bs", "--nodeps", "--load", "/w/macros.zz-modules",
		"--define", "_topdir /w/srpm",
		"--define", "_sourcedir /src/hello",
		"--define", "_specdir /src/hello",
		"--define", "_srcrpmdir /w/srpm/SRPMS",
		"--define", "_tmppath /w/srpm/tmp",
		"--define", "dist .module+f40+1+abcdef12",
		"/src/hello/hello.spec",
	}
	if c.Name != "rpmbuild" || !slices.Equal(c.Args, want) {
		t.Errorf("SRPMCommand = %s\nwant rpmbuild %q", c, want)
	}
	// Without macros there is no --load.
	c = SRPMCommand(SRPMArgs{Spec: "/s/x.spec", SourceDir: "/s", TopDir: "/t", Dist: ".d"})
	if slices.Contains(c.Args, "--load") {
		t.Errorf("SRPMCommand without macros = %s", c)
	}
}

func TestRebuildCommand(t *testing.T) {
	c := RebuildCommand(RebuildArgs{
		SRPM: "/w/srpm/SRPMS/hello-1-1.module+f40+1+abcdef12.src.rpm", TopDir: "/w/rebuild", RPMDir: "/w/RPMS",
		MacrosFile: "/w/macros.zz-modules", Dist: ".module+f40+1+abcdef12",
	})
	want := "rpmbuild --rebuild --nodeps --load /w/macros.zz-modules" +
		" --define '_topdir /w/rebuild' --define '_rpmdir /w/RPMS' --define '_tmppath /w/rebuild/tmp'" +
		" --define 'dist .module+f40+1+abcdef12' /w/srpm/SRPMS/hello-1-1.module+f40+1+abcdef12.src.rpm"
	if got := c.String(); got != want {
		t.Errorf("RebuildCommand =\n%s\nwant\n%s", got, want)
	}
}

func TestQueryCommand(t *testing.T) {
	c := QueryCommand("/r/a.src.rpm", "/r/a.noarch.rpm")
	want := `rpm -qp --nosignature --nodigest --queryformat '%{NAME} %{EPOCHNUM} %{VERSION} %{RELEASE} %|SOURCERPM?{%{ARCH}}:{src}|\n' -- /r/a.src.rpm /r/a.noarch.rpm`
	if got := c.String(); got != want {
		t.Errorf("QueryCommand =\n%s\nwant\n%s", got, want)
	}
}

func TestRepoCommands(t *testing.T) {
	for _, tc := range []struct {
		c    Command
		want string
	}{
		{CreateRepoCommand("/r/results", false), "createrepo_c --quiet -- /r/results"},
		{CreateRepoCommand("/r/results", true), "createrepo_c --quiet --update -- /r/results"},
		{FinalRepoCommand("/r/results", "/w/pkglist"), "createrepo_c --quiet --pkglist /w/pkglist -- /r/results"},
		{ModifyRepoCommand("/w/modules.yaml", "/r/results/repodata"), "modifyrepo_c --mdtype=modules -- /w/modules.yaml /r/results/repodata"},
	} {
		if got := tc.c.String(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

func TestCommandStringQuotes(t *testing.T) {
	c := Command{Name: "echo", Args: []string{"plain", "two words", "it's", ""}}
	if got, want := c.String(), `echo plain 'two words' 'it'\''s' ''`; got != want {
		t.Errorf("String = %s, want %s", got, want)
	}
}

func TestParseQuery(t *testing.T) {
	got, err := parseQuery([]byte("hello 0 1.0 1.module+f40+1+abcdef12 src\nhello 2 1.0 1.module+f40+1+abcdef12 x86_64\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []NEVRA{
		{"hello", 0, "1.0", "1.module+f40+1+abcdef12", "src"},
		{"hello", 2, "1.0", "1.module+f40+1+abcdef12", "x86_64"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("parseQuery = %v, want %v", got, want)
	}
	if s := want[1].String(); s != "hello-2:1.0-1.module+f40+1+abcdef12.x86_64" {
		t.Errorf("NEVRA.String = %s", s)
	}
	for _, bad := range []string{"hello 0 1.0 src\n", "hello x 1.0 1 src\n", "hello -1 1.0 1 src\n"} {
		if _, err := parseQuery([]byte(bad)); err == nil {
			t.Errorf("parseQuery(%q) succeeded", bad)
		}
	}
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 4}
	for _, s := range []string{"ab", "cdefgh", "ij"} {
		b.Write([]byte(s))
	}
	if got, want := string(b.Bytes()), "[localbuild: 6 bytes of output dropped]\nghij"; got != want {
		t.Errorf("Bytes = %q, want %q", got, want)
	}
	b = &tailBuffer{max: 4}
	b.Write([]byte("abc"))
	if got := string(b.Bytes()); got != "abc" {
		t.Errorf("Bytes = %q", got)
	}
}
