package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/auth"
	"github.com/rida-build/rida/httpapi"
	"github.com/rida-build/rida/mock"
)

// testAuthn authenticates "Authorization: Test <user>"; "admin" is an
// admin, "nobody" is in no allowed group.
type testAuthn struct{}

func (testAuthn) Method() string    { return "test" }
func (testAuthn) Challenge() string { return `Test realm="rida"` }
func (testAuthn) Authenticate(r *http.Request) (*auth.Identity, error) {
	user, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Test ")
	switch {
	case !ok:
		return nil, auth.ErrNoCredentials
	case user == "expired":
		return nil, rida.Errorf(rida.CodeUnauthorized, "The test token expired.")
	case user == "admin":
		return &auth.Identity{Name: user, Groups: []string{"admins"}}, nil
	case user == "nobody":
		return &auth.Identity{Name: user}, nil
	}
	return &auth.Identity{Name: user, Groups: []string{"packager"}}, nil
}

type exchange struct {
	status int
	header http.Header
	body   map[string]any
}

func call(t *testing.T, base, method, path, user, body string) exchange {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	if user != "" {
		req.Header.Set("Authorization", "Test "+user)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || resp.StatusCode >= 500 {
		t.Errorf("%s %s as %q: %d %s %s", method, path, user, resp.StatusCode, ct, data)
	}
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return exchange{resp.StatusCode, resp.Header, out}
}

// Ensure the server authenticates, authorizes each action, refuses a
// foreign owner, rate-limits submissions and puts the user where the
// service's ownership checks find it; every refusal is JSON and logged with
// the user.
func TestServer_Auth(t *testing.T) {
	clock := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	var gotOwner, gotCanceler string
	var gotCtxUser *rida.User
	build := sampleBuild()
	svc := &mock.ModuleBuildService{
		FindModuleBuildByIDFn: func(context.Context, int64, rida.ModuleBuildInclude) (*rida.ModuleBuild, error) { return build, nil },
		FindModuleBuildsFn: func(context.Context, rida.ModuleBuildFilter) ([]*rida.ModuleBuild, int, error) {
			return nil, 0, nil
		},
		SubmitModuleBuildFn: func(ctx context.Context, req rida.SubmitRequest) (*rida.Submission, error) {
			gotOwner, gotCtxUser = req.Owner, rida.UserFromContext(ctx)
			return &rida.Submission{Builds: []*rida.ModuleBuild{build}, Created: []bool{true}}, nil
		},
		CancelModuleBuildFn: func(ctx context.Context, id int64, user string) (*rida.ModuleBuild, error) {
			gotCanceler = user
			if err := rida.CheckOwner(ctx, build.Owner, "cancel", id); err != nil {
				return nil, err
			}
			return build, nil
		},
		ImportModuleFn: func(context.Context, rida.ImportRequest) (*rida.ModuleBuild, []string, error) {
			return build, []string{"imported"}, nil
		},
	}
	guard := auth.NewGuard([]auth.Authenticator{testAuthn{}}, nil,
		auth.Policy{AllowedGroups: []string{"packager"}, AdminGroups: []string{"admins"}, AnonymousReads: true})
	cfg := httpapi.DefaultConfig()
	cfg.Auth = guard
	cfg.SubmitLimiter = auth.NewRateLimiter(2, time.Hour, func() time.Time { return clock })
	var logs bytes.Buffer
	ts := httptest.NewServer(httpapi.NewServer(svc, slog.New(slog.NewTextHandler(&logs, nil)), cfg))
	defer ts.Close()
	submit := `{"scmurl": "https://src.example.org/modules/nodejs.git?#abc", "branch": "main"}`

	// Reads are anonymous; refused credentials are refused even there.
	if ex := call(t, ts.URL, "GET", "/module-build-service/2/module-builds/", "", ""); ex.status != 200 {
		t.Errorf("anonymous read: %d", ex.status)
	}
	if ex := call(t, ts.URL, "GET", "/module-build-service/2/module-builds/", "expired", ""); ex.status != 401 || ex.body["message"] != "The test token expired." {
		t.Errorf("read with expired credentials: %d %v", ex.status, ex.body)
	}
	// Writes need credentials: 401 with the challenge.
	ex := call(t, ts.URL, "POST", "/module-build-service/2/module-builds/", "", submit)
	if ex.status != 401 || ex.header.Get("WWW-Authenticate") != `Test realm="rida"` || !strings.Contains(ex.body["message"].(string), "Authentication is required") {
		t.Errorf("anonymous submit: %d %v %v", ex.status, ex.header, ex.body)
	}
	if ex := call(t, ts.URL, "POST", "/module-build-service/2/module-builds/", "nobody", submit); ex.status != 403 || !strings.Contains(ex.body["message"].(string), "nobody is not in any of the groups allowed to submit module builds (packager)") {
		t.Errorf("submit outside the groups: %d %v", ex.status, ex.body)
	}
	// The owner is the authenticated user; naming another is refused.
	if ex := call(t, ts.URL, "POST", "/module-build-service/2/module-builds/", "alice", submit); ex.status != 201 || gotOwner != "alice" || gotCtxUser == nil || gotCtxUser.Name != "alice" {
		t.Errorf("alice's submit: %d, owner %q, context user %+v", ex.status, gotOwner, gotCtxUser)
	}
	if ex := call(t, ts.URL, "POST", "/module-build-service/2/module-builds/", "bob", strings.Replace(submit, "{", `{"owner": "alice", `, 1)); ex.status != 400 || !strings.Contains(ex.body["message"].(string), "builds belong to the authenticated user (bob)") {
		t.Errorf("submit naming another owner: %d %v", ex.status, ex.body)
	}
	// Two per hour: alice's second passes, her third is 429 with Retry-After.
	if ex := call(t, ts.URL, "POST", "/rida/module-builds/", "alice", submit); ex.status != 201 || gotOwner != "alice" {
		t.Errorf("alice's second submit: %d %v", ex.status, ex.body)
	}
	if ex := call(t, ts.URL, "POST", "/module-build-service/2/module-builds/", "alice", submit); ex.status != 429 || ex.header.Get("Retry-After") != "1800" {
		t.Errorf("alice's third submit: %d %v %v", ex.status, ex.header, ex.body)
	}
	// Cancel: the build is alice's.
	cancel := `{"state": "failed"}`
	if ex := call(t, ts.URL, "PATCH", "/module-build-service/2/module-builds/7", "bob", cancel); ex.status != 403 || !strings.Contains(ex.body["message"].(string), "bob may not cancel module build 7, which belongs to alice") {
		t.Errorf("bob cancels alice's build: %d %v", ex.status, ex.body)
	}
	if ex := call(t, ts.URL, "PATCH", "/module-build-service/2/module-builds/7", "alice", cancel); ex.status != 200 || gotCanceler != "alice" {
		t.Errorf("alice cancels her build: %d %v (canceler %q)", ex.status, ex.body, gotCanceler)
	}
	if ex := call(t, ts.URL, "PATCH", "/module-build-service/2/module-builds/7", "admin", cancel); ex.status != 200 || gotCanceler != "admin" {
		t.Errorf("an admin cancels alice's build: %d %v", ex.status, ex.body)
	}
	// Import: admins only.
	imp := `{"modulemd": "x"}`
	if ex := call(t, ts.URL, "POST", "/module-build-service/2/import-module/", "alice", imp); ex.status != 403 || !strings.Contains(ex.body["message"].(string), "admin groups allowed to import modules (admins)") {
		t.Errorf("alice imports: %d %v", ex.status, ex.body)
	}
	if ex := call(t, ts.URL, "POST", "/module-build-service/2/import-module/", "admin", imp); ex.status != 201 {
		t.Errorf("an admin imports: %d %v", ex.status, ex.body)
	}
	for _, want := range []string{
		`msg=authorization request_id=`, `user=alice action=submit path=/module-build-service/2/module-builds/ allowed=true method=test`,
		`msg="request refused"`, `user=nobody method=POST path=/module-build-service/2/module-builds/ status=403 reason="nobody is not in any of the groups`,
		`user=bob method=PATCH path=/module-build-service/2/module-builds/7 status=403`,
		`user=anonymous method=POST path=/module-build-service/2/module-builds/ status=401 reason="Authentication is required`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs.String())
		}
	}
}

// Ensure anonymous reads can be turned off.
func TestServer_AuthNoAnonymousReads(t *testing.T) {
	cfg := httpapi.DefaultConfig()
	cfg.Auth = auth.NewGuard([]auth.Authenticator{testAuthn{}}, nil, auth.Policy{})
	svc := &mock.ModuleBuildService{FindModuleBuildsFn: func(context.Context, rida.ModuleBuildFilter) ([]*rida.ModuleBuild, int, error) {
		return nil, 0, nil
	}}
	ts := httptest.NewServer(httpapi.NewServer(svc, nil, cfg))
	defer ts.Close()
	if ex := call(t, ts.URL, "GET", "/module-build-service/2/module-builds/", "", ""); ex.status != 401 || ex.header.Get("WWW-Authenticate") == "" {
		t.Errorf("anonymous read: %d %v", ex.status, ex.header)
	}
	if ex := call(t, ts.URL, "GET", "/module-build-service/2/module-builds/", "nobody", ""); ex.status != 200 {
		t.Errorf("authenticated read: %d %v", ex.status, ex.body)
	}
}
