package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/auth"
)

// headerAuth is an Authenticator for tests: "Authorization: Test <user>".
type headerAuth struct{}

func (headerAuth) Method() string    { return "test" }
func (headerAuth) Challenge() string { return "Test" }
func (headerAuth) Authenticate(r *http.Request) (*auth.Identity, error) {
	user, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Test ")
	switch {
	case !ok:
		return nil, auth.ErrNoCredentials
	case user == "bad":
		return nil, rida.Errorf(rida.CodeUnauthorized, "bad credentials")
	}
	return &auth.Identity{Name: user, Groups: []string{"claimed"}}, nil
}

type groupFunc func(user string) ([]string, error)

func (f groupFunc) Groups(_ context.Context, user string) ([]string, error) { return f(user) }

// Ensure the Guard merges groups from the credentials and every source,
// marks admins, and authorizes each action with a message naming what is
// missing.
func TestGuard(t *testing.T) {
	file, err := auth.ParseGroupFile([]byte("packager: [alice, bob]\nrida-admins: [carol]\n"))
	if err != nil {
		t.Fatal(err)
	}
	down := groupFunc(func(user string) ([]string, error) {
		if user == "dave" {
			return nil, errors.New("ldap down")
		}
		return nil, nil
	})
	g := auth.NewGuard([]auth.Authenticator{headerAuth{}}, []auth.GroupSource{file, down},
		auth.Policy{AllowedGroups: []string{"packager"}, AdminGroups: []string{"rida-admins"}, AnonymousReads: true})
	authn := func(header string) (*rida.User, error) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		return g.Authenticate(r)
	}
	alice, err := authn("Test alice")
	if err != nil || alice.Name != "alice" || alice.Method != "test" || alice.Admin || !slices.Equal(alice.Groups, []string{"claimed", "packager"}) {
		t.Fatalf("Authenticate(alice) = %+v, %v", alice, err)
	}
	carol, _ := authn("Test carol")
	if !carol.Admin {
		t.Errorf("carol = %+v, want admin", carol)
	}
	eve, _ := authn("Test eve")
	if u, err := authn(""); u != nil || err != nil {
		t.Errorf("Authenticate(none) = %v, %v; want nil, nil", u, err)
	}
	if _, err := authn("Test bad"); rida.ErrorCodeOf(err) != rida.CodeUnauthorized {
		t.Errorf("Authenticate(bad) = %v, want unauthorized", err)
	}
	if _, err := authn("Test dave"); rida.ErrorCodeOf(err) != rida.CodeUnavailable {
		t.Errorf("Authenticate(dave) with a group source down = %v, want unavailable", err)
	}

	tests := []struct {
		user   *rida.User
		action rida.Action
		code   rida.ErrorCode
		msg    string
	}{
		{nil, rida.ActionRead, "", ""},
		{nil, rida.ActionSubmit, rida.CodeUnauthorized, "Authentication is required to submit module builds: send credentials (test)."},
		{nil, rida.ActionImport, rida.CodeUnauthorized, ""},
		{alice, rida.ActionSubmit, "", ""},
		{alice, rida.ActionCancel, "", ""},
		{alice, rida.ActionImport, rida.CodeForbidden, "alice is not in any of the admin groups allowed to import modules (rida-admins); their groups: claimed, packager."},
		{eve, rida.ActionRead, "", ""},
		{eve, rida.ActionSubmit, rida.CodeForbidden, "eve is not in any of the groups allowed to submit module builds (packager); their groups: claimed."},
		{carol, rida.ActionSubmit, "", ""},
		{carol, rida.ActionImport, "", ""},
	}
	for _, tt := range tests {
		name := "anonymous"
		if tt.user != nil {
			name = tt.user.Name
		}
		err := g.Authorize(tt.user, tt.action)
		if rida.ErrorCodeOf(err) != tt.code || tt.msg != "" && rida.ErrorMessageOf(err) != tt.msg {
			t.Errorf("Authorize(%s, %s) = %v, want %q %q", name, tt.action, err, tt.code, tt.msg)
		}
	}

	closed := auth.NewGuard([]auth.Authenticator{headerAuth{}}, nil, auth.Policy{})
	if err := closed.Authorize(nil, rida.ActionRead); rida.ErrorCodeOf(err) != rida.CodeUnauthorized {
		t.Errorf("Authorize(anonymous read) without anonymous reads = %v, want unauthorized", err)
	}
	if err := closed.Authorize(eve, rida.ActionSubmit); err != nil {
		t.Errorf("Authorize(eve, submit) with no allowed groups = %v, want allowed (everyone authenticated)", err)
	}
	if err := closed.Authorize(eve, rida.ActionImport); rida.ErrorCodeOf(err) != rida.CodeForbidden || !strings.Contains(err.Error(), "none configured") {
		t.Errorf("Authorize(eve, import) with no admin groups = %v, want forbidden saying none is configured", err)
	}
}

// Ensure group files are read as group → members and bad names refused.
func TestParseGroupFile(t *testing.T) {
	f, err := auth.ParseGroupFile([]byte("packager: [alice, bob]\nadmins:\n  - alice\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.Groups(context.Background(), "alice"); !slices.Equal(got, []string{"admins", "packager"}) {
		t.Errorf("Groups(alice) = %v", got)
	}
	if got, _ := f.Groups(context.Background(), "nobody"); len(got) != 0 {
		t.Errorf("Groups(nobody) = %v", got)
	}
	for _, bad := range []string{"packager: alice", "- a\n- b", "packager: [\"a b\"]", "\"\": [alice]", "packager: [[x]]"} {
		if _, err := auth.ParseGroupFile([]byte(bad)); err == nil {
			t.Errorf("ParseGroupFile(%q) = nil error", bad)
		}
	}
}

// Ensure the limiter allows a burst of limit, then one per window/limit,
// per user, saying how long to wait.
func TestRateLimiter(t *testing.T) {
	clock := now
	l := auth.NewRateLimiter(3, 3600e9, func() (t0 time.Time) { return clock })
	for i := range 3 {
		if ok, _ := l.Allow("alice"); !ok {
			t.Fatalf("submission %d refused", i+1)
		}
	}
	ok, wait := l.Allow("alice")
	if ok || wait != 20*time.Minute {
		t.Errorf("fourth = %v, %v; want refused, retry in 20m", ok, wait)
	}
	if ok, _ := l.Allow("bob"); !ok {
		t.Error("bob refused for alice's submissions")
	}
	clock = clock.Add(20 * time.Minute)
	if ok, _ := l.Allow("alice"); !ok {
		t.Error("refused after waiting")
	}
	if ok, _ := l.Allow("alice"); ok {
		t.Error("allowed twice after waiting once")
	}
}
