package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rida-build/rida/auth/authtest"
	"github.com/rida-build/rida/git/gittest"
	"github.com/rida-build/rida/internal/krb5test"
)

// authReply is one answer of the server under authentication.
type authReply struct {
	status int
	header http.Header
	body   map[string]any
	list   []any
}

func (r authReply) message() string { m, _ := r.body["message"].(string); return m }

// authDo sends one request with an Authorization header (none when empty)
// and checks what every answer must be: JSON (never HTML), never a 500,
// a 401 with WWW-Authenticate.
func authDo(t *testing.T, client *http.Client, base, method, path, authorization, body string) authReply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" || resp.StatusCode >= 500 {
		t.Errorf("%s %s: %d %q: %s", method, path, resp.StatusCode, ct, data)
	}
	if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("%s %s: 401 without WWW-Authenticate", method, path)
	}
	r := authReply{status: resp.StatusCode, header: resp.Header}
	if json.Unmarshal(data, &r.body) != nil {
		if err := json.Unmarshal(data, &r.list); err != nil {
			t.Errorf("%s %s: not JSON: %s", method, path, data)
		}
	}
	return r
}

// writeFile writes text to a new file in a temporary directory.
func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// oneContextYAML builds against platform f28 only: one build per
// submission.
var oneContextYAML = strings.ReplaceAll(submitModuleYAML, "[f28, f29]", "[f28]")

// TestServe_AuthMatrix runs the authorization matrix over the real server
// (rida serve with OIDC tokens from a test issuer, groups from a mapping
// file, the real engine's submit, cancel and resume): anonymous, a user,
// another user, a user outside the allowed groups and an admin, each
// submitting, canceling their own build, canceling another's, resuming
// another's failed build and importing.
func TestServe_AuthMatrix(t *testing.T) {
	gittest.SkipIfNoGit(t)
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	iss := authtest.NewIssuer(t)
	groups := writeFile(t, "groups.yaml", "packager: [alice, bob, olga]\nrida-admins: [carol]\n")
	repos := t.TempDir()
	config := writeFile(t, "rida.yaml", fmt.Sprintf(`auth:
  method: [oidc]
  allowed_groups: [packager]
  admin_groups: [rida-admins]
  group_file: %s
  oidc:
    issuer: %s
    audience: rida
`, groups, iss.URL))
	srv := startServer(t, filepath.Join(t.TempDir(), "rida.db"), clk, "--config", config,
		"--allow-scm", "file://"+repos, "--rpms-base", "file://"+repos+"/rpms")
	token := func(user string) string {
		if user == "" {
			return ""
		}
		return "Bearer " + iss.Sign(t, iss.Claims(user, "rida", clk.Now()))
	}
	call := func(user, method, path, body string) authReply {
		t.Helper()
		return authDo(t, nil, srv.base, method, path, token(user), body)
	}
	if r := call("carol", "POST", "/module-build-service/2/import-module/", `{"modulemd": `+jsonString(platformYAML)+`}`); r.status != 201 {
		t.Fatalf("import platform: %d %v", r.status, r.body)
	}
	gittest.MustComponentRepo(t, repos, "tangerine")
	n := 0
	// module makes a new module repository and returns its SCM URL.
	module := func() string {
		n++
		url, commit := gittest.MustModuleRepo(t, repos, fmt.Sprintf("mod%d", n), oneContextYAML)
		return url + "?#" + commit
	}
	submit := func(user, scmurl string) authReply {
		t.Helper()
		return call(user, "POST", "/module-build-service/1/module-builds/", `{"scmurl": "`+scmurl+`", "branch": "main"}`)
	}
	mustSubmit := func(user string) (id int64, scmurl string) {
		t.Helper()
		scmurl = module()
		r := submit(user, scmurl)
		if r.status != 201 || r.body["owner"] != user {
			t.Fatalf("%s submits: %d %v", user, r.status, r.body)
		}
		return int64(r.body["id"].(float64)), scmurl
	}
	cancel := func(user string, id int64) authReply {
		t.Helper()
		return call(user, "PATCH", fmt.Sprintf("/module-build-service/2/module-builds/%d", id), `{"state": "failed"}`)
	}

	type want struct {
		status int
		msg    string // part of the message of a refusal
	}
	const (
		authn    = "Authentication is required"
		notOwner = "You are not owner of this build and therefore cannot modify it"
	)
	tests := []struct {
		actor                                            string
		submit, cancelOwn, cancelOther, resumeOther, imp want
	}{
		{"", want{401, authn}, want{401, authn}, want{401, authn}, want{401, authn}, want{401, authn}},
		{"alice", want{201, ""}, want{200, ""}, want{403, notOwner}, want{403, notOwner}, want{403, "admin groups allowed to import modules (rida-admins)"}},
		{"bob", want{201, ""}, want{200, ""}, want{403, notOwner}, want{403, notOwner}, want{403, "admin groups"}},
		{"eve", want{403, "eve is not in any of the groups allowed to submit module builds (packager)"}, want{0, ""},
			want{403, "allowed to cancel module builds (packager)"}, want{403, "allowed to submit module builds"}, want{403, "admin groups"}},
		{"carol", want{201, ""}, want{200, ""}, want{200, ""}, want{201, ""}, want{201, ""}},
	}
	for _, tt := range tests {
		name := tt.actor
		if name == "" {
			name = "anonymous"
		}
		t.Run(name, func(t *testing.T) {
			check := func(what string, r authReply, w want) {
				t.Helper()
				if r.status != w.status || !strings.Contains(r.message(), w.msg) {
					t.Errorf("%s %s: %d %q, want %d containing %q", name, what, r.status, r.message(), w.status, w.msg)
				}
			}
			check("submit", submit(tt.actor, module()), tt.submit)

			// Another user's build, and another user's failed build.
			other, _ := mustSubmit("olga")
			failed, failedURL := mustSubmit("olga")
			if r := cancel("olga", failed); r.status != 200 {
				t.Fatalf("olga cancels her build: %d %v", r.status, r.body)
			}
			if tt.cancelOwn.status != 0 {
				// Anonymous has no builds: its "own" is alice's.
				owner := tt.actor
				if owner == "" {
					owner = "alice"
				}
				own, _ := mustSubmit(owner)
				r := cancel(tt.actor, own)
				check("cancel own", r, tt.cancelOwn)
				if r.status == 200 && r.body["state_reason"] != "Canceled by "+owner+"." {
					t.Errorf("canceled build: %v", r.body)
				}
			}
			r := cancel(tt.actor, other)
			check("cancel other", r, tt.cancelOther)
			if r.status == 200 && r.body["state_reason"] != "Canceled by "+tt.actor+"." {
				t.Errorf("canceled build: %v", r.body)
			}
			r = submit(tt.actor, failedURL)
			check("resume other", r, tt.resumeOther)
			if r.status == 201 && (r.body["owner"] != "olga" || r.body["id"] != float64(failed)) {
				t.Errorf("resumed build: %v, want build %d still owned by olga", r.body, failed)
			}
			check("import", call(tt.actor, "POST", "/module-build-service/2/import-module/", `{"modulemd": `+jsonString(strings.Replace(platformYAML, "stream: f28", "stream: f30", 1))+`}`), tt.imp)
		})
	}

	// Reads stay anonymous; a body owner naming someone else is refused.
	if r := call("", "GET", "/module-build-service/2/module-builds/?short=true", ""); r.status != 200 {
		t.Errorf("anonymous list: %d %v", r.status, r.body)
	}
	if r := call("", "GET", "/module-build-service/2/about/", ""); r.body["auth_method"] != "oidc" {
		t.Errorf("about: %v", r.body)
	}
	if r := call("alice", "POST", "/module-build-service/2/module-builds/", `{"scmurl": "`+module()+`", "branch": "main", "owner": "carol"}`); r.status != 400 || !strings.Contains(r.message(), "builds belong to the authenticated user (alice)") {
		t.Errorf("submit naming another owner: %d %v", r.status, r.body)
	}
	// A submission that would resume another's failed build and create a
	// new one changes nothing: every build is checked before any is made.
	// (olga's build is for f28 alone: platform:f29 is imported after.)
	url, commit := gittest.MustModuleRepo(t, repos, "twocontexts", submitModuleYAML)
	r := call("olga", "POST", "/module-build-service/1/module-builds/", `{"scmurl": "`+url+`?#`+commit+`", "branch": "main"}`)
	if r.status != 201 {
		t.Fatalf("olga submits for f28: %d %v", r.status, r.body)
	}
	if r := cancel("olga", int64(r.body["id"].(float64))); r.status != 200 {
		t.Fatalf("olga cancels: %d %v", r.status, r.body)
	}
	if r := call("carol", "POST", "/module-build-service/2/import-module/", `{"modulemd": `+jsonString(strings.Replace(platformYAML, "stream: f28", "stream: f29", 1))+`}`); r.status != 201 {
		t.Fatalf("import platform:f29: %d %v", r.status, r.body)
	}
	if r := call("alice", "POST", "/module-build-service/2/module-builds/", `{"scmurl": "`+url+`?#`+commit+`", "branch": "main"}`); r.status != 403 || !strings.Contains(r.message(), "alice may not resume module build") {
		t.Errorf("alice resubmits for f28 and f29: %d %v", r.status, r.body)
	}
	if r := call("", "GET", "/module-build-service/2/module-builds/?name=twocontexts&short=true", ""); r.body["meta"].(map[string]any)["total"] != float64(1) {
		t.Errorf("builds of twocontexts after the refused submission: %v, want olga's one", r.body)
	}

	// Tokens: expired, for another audience, badly signed.
	for what, tok := range map[string]string{
		"expired":         iss.Sign(t, iss.Claims("alice", "rida", clk.Now().Add(-2*time.Hour))),
		"wrong audience":  iss.Sign(t, iss.Claims("alice", "koji", clk.Now())),
		"wrong signature": iss.Sign(t, iss.Claims("alice", "rida", clk.Now()))[:40] + "x" + iss.Sign(t, iss.Claims("alice", "rida", clk.Now()))[41:],
	} {
		r := authDo(t, nil, srv.base, "POST", "/module-build-service/2/module-builds/", "Bearer "+tok, `{"scmurl": "`+module()+`", "branch": "main"}`)
		if r.status != 401 || r.header.Get("WWW-Authenticate") != `Bearer realm="rida"` {
			t.Errorf("%s token: %d %v %v", what, r.status, r.header, r.body)
		}
	}
}

// TestServe_SubmitRateLimit checks the per-user submission limit: 429 with
// Retry-After, per user.
func TestServe_SubmitRateLimit(t *testing.T) {
	gittest.SkipIfNoGit(t)
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	iss := authtest.NewIssuer(t)
	repos := t.TempDir()
	config := writeFile(t, "rida.yaml", fmt.Sprintf("auth:\n  method: [oidc]\n  allowed_groups: []\n  submit_rate: {limit: 1, window: 1h}\n  oidc: {issuer: %s, audience: rida}\n", iss.URL))
	srv := startServer(t, filepath.Join(t.TempDir(), "rida.db"), clk, "--config", config,
		"--allow-scm", "file://"+repos, "--rpms-base", "file://"+repos+"/rpms")
	bearer := func(user string) string { return "Bearer " + iss.Sign(t, iss.Claims(user, "rida", clk.Now())) }
	body := `{"scmurl": "file://` + repos + `/nothing?#main", "branch": "main"}`
	if r := authDo(t, nil, srv.base, "POST", "/module-build-service/2/module-builds/", bearer("alice"), body); r.status != 403 && r.status != 422 {
		t.Errorf("first submission: %d %v", r.status, r.body)
	}
	r := authDo(t, nil, srv.base, "POST", "/module-build-service/2/module-builds/", bearer("alice"), body)
	if r.status != 429 || r.header.Get("Retry-After") != "3600" || !strings.Contains(r.message(), "alice has submitted too many module builds") {
		t.Errorf("second submission: %d %v %v", r.status, r.header, r.body)
	}
	if r := authDo(t, nil, srv.base, "POST", "/module-build-service/2/module-builds/", bearer("bob"), body); r.status == 429 {
		t.Errorf("bob limited by alice's submissions: %v", r.body)
	}
}

// TestServe_RefusesNoAuthOffLoopback checks that serve will not run
// without authentication where others can reach it, unless told.
func TestServe_RefusesNoAuthOffLoopback(t *testing.T) {
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }, Now: time.Now}
	err := m.Run(t.Context(), []string{"serve", "--listen", "0.0.0.0:0", "--db", "sqlite:" + filepath.Join(t.TempDir(), "rida.db"), "--no-engine"})
	if err == nil || !strings.Contains(err.Error(), "refusing to serve on 0.0.0.0:0 without authentication") || !strings.Contains(err.Error(), "--insecure-no-auth") {
		t.Errorf("serve --listen 0.0.0.0:0 = %v", err)
	}
	if _, err := os.Stat(filepath.Join(t.TempDir(), "rida.db")); err == nil {
		t.Error("the refused serve created its database")
	}
	srv := startServer(t, filepath.Join(t.TempDir(), "rida.db"), &clock{t: time.Now()}, "--listen", "0.0.0.0:0", "--insecure-no-auth")
	if !strings.Contains(srv.base, ":") {
		t.Errorf("serve --insecure-no-auth listens on %q", srv.base)
	}
}

// runCLI runs a client command with env and returns its output and error.
func runCLI(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return env[k] }, Now: time.Now}
	err := m.Run(context.WithoutCancel(t.Context()), args)
	if err != nil {
		exitCode(err, &out) // what the user would read
	}
	return out.String(), err
}

// TestCLI_Credentials checks that the CLI sends an OIDC token from a file
// or the environment, and prints the server's refusal.
func TestCLI_Credentials(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	iss := authtest.NewIssuer(t)
	config := writeFile(t, "rida.yaml", fmt.Sprintf("auth:\n  method: [oidc]\n  admin_groups: [rida-admins]\n  anonymous_reads: false\n  oidc: {issuer: %s, audience: rida}\n", iss.URL))
	srv := startServer(t, filepath.Join(t.TempDir(), "rida.db"), clk, "--config", config)
	platform := writeFile(t, "platform.yaml", platformYAML)
	admin := writeFile(t, "admin.token", iss.Sign(t, iss.Claims("carol", "rida", clk.Now(), "rida-admins"))+"\n")
	user := iss.Sign(t, iss.Claims("alice", "rida", clk.Now(), "packager"))

	if out, err := runCLI(t, nil, "import-module", platform, "--server", srv.base, "--token-file", admin); err != nil || !strings.Contains(out, "imported") {
		t.Errorf("import with an admin token file: %v\n%s", err, out)
	}
	out, err := runCLI(t, map[string]string{"RIDA_OIDC_TOKEN": user}, "import-module", platform, "--server", srv.base)
	if err == nil || !strings.Contains(out, "rida: alice is not in any of the admin groups allowed to import modules (rida-admins)") {
		t.Errorf("import with a user token from the environment: %v\n%s", err, out)
	}
	if out, err := runCLI(t, nil, "list", "--server", srv.base); err == nil || !strings.Contains(out, "rida: Authentication is required to read") {
		t.Errorf("list without a token: %v\n%s", err, out)
	}
	if out, err := runCLI(t, map[string]string{"RIDA_OIDC_TOKEN": user}, "list", "--server", srv.base); err != nil || !strings.Contains(out, "platform") {
		t.Errorf("list with a token: %v\n%s", err, out)
	}
}

// TestCLI_ClientCertificates serves HTTPS with client certificates from a
// test CA: a valid certificate submits as its CN; unknown-CA and expired
// ones are refused, and the CLI prints why.
func TestCLI_ClientCertificates(t *testing.T) {
	gittest.SkipIfNoGit(t)
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	wall := time.Now() // the client checks the server's certificate against it
	ca := authtest.NewCA(t, "rida test CA", wall)
	other := authtest.NewCA(t, "another CA", wall)
	serverCert, serverKey := authtest.WritePEM(t, ca.Server(t, wall))
	repos := t.TempDir()
	groups := writeFile(t, "groups.yaml", "rida-admins: [carol]\n")
	config := writeFile(t, "rida.yaml", "auth:\n  allowed_groups: []\n  admin_groups: [rida-admins]\n  group_file: "+groups+"\n")
	srv := startServer(t, filepath.Join(t.TempDir(), "rida.db"), clk, "--config", config, "--auth", "cert",
		"--tls-cert", serverCert, "--tls-key", serverKey, "--client-ca", ca.PEMPath,
		"--allow-scm", "file://"+repos, "--rpms-base", "file://"+repos+"/rpms")
	base := strings.Replace(srv.base, "http://", "https://", 1)

	gittest.MustComponentRepo(t, repos, "tangerine")
	url, commit := gittest.MustModuleRepo(t, repos, "certmodule", oneContextYAML)
	cert := func(c *authtest.CA, cn string, from, until time.Time) []string {
		certPath, keyPath := authtest.WritePEM(t, c.Client(t, cn, from, until))
		return []string{"--cert", certPath, "--key", keyPath, "--ca-cert", ca.PEMPath, "--server", base}
	}
	alice := cert(ca, "alice", clk.Now().Add(-time.Hour), clk.Now().Add(time.Hour))
	// Imports need an admin: alice's is refused, carol's (rida-admins)
	// imports the platform the submission builds on.
	platform := writeFile(t, "platform.yaml", platformYAML)
	out, err := runCLI(t, nil, append([]string{"import-module", platform}, alice...)...)
	if err == nil || !strings.Contains(out, "rida: alice is not in any of the admin groups allowed to import modules") {
		t.Errorf("import as alice: %v\n%s", err, out)
	}
	if out, err := runCLI(t, nil, append([]string{"import-module", platform}, cert(ca, "carol", clk.Now().Add(-time.Hour), clk.Now().Add(time.Hour))...)...); err != nil {
		t.Fatalf("import as carol: %v\n%s", err, out)
	}
	out, err = runCLI(t, nil, append([]string{"submit", url + "?#" + commit, "--branch", "main", "-o", "json"}, alice...)...)
	if err != nil || !strings.Contains(out, `"owner": "alice"`) {
		t.Errorf("submit as alice: %v\n%s", err, out)
	}
	for name, args := range map[string][]string{
		"unknown CA": cert(other, "alice", clk.Now().Add(-time.Hour), clk.Now().Add(time.Hour)),
		"expired":    cert(ca, "alice", clk.Now().Add(-48*time.Hour), clk.Now().Add(-time.Hour)),
	} {
		want := map[string]string{"unknown CA": "is not signed by a certificate authority this server trusts", "expired": "is not valid now"}[name]
		// Refused credentials are refused even where none are needed, so
		// the user learns of them before a write.
		for _, cmd := range [][]string{{"list"}, {"submit", url + "?#" + commit, "--branch", "main"}} {
			out, err := runCLI(t, nil, append(cmd, args...)...)
			if err == nil || !strings.Contains(out, "rida: The client certificate \"CN=alice\" "+want) {
				t.Errorf("%s with the %s certificate: %v\n%s", cmd[0], name, err, out)
			}
		}
	}
	// Over raw HTTPS too: JSON answers, 401 with a challenge, no 500.
	hc, err := (&Main{Getenv: func(string) string { return "" }}).httpClient(Config{Auth: AuthConfig{Client: ClientCredentialsCfg{CACert: ca.PEMPath}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := authDo(t, hc, base, "POST", "/module-build-service/2/module-builds/", "", `{"scmurl": "`+url+`?#`+commit+`", "branch": "main"}`); r.status != 401 || r.header.Get("WWW-Authenticate") != `Certificate realm="rida"` {
		t.Errorf("submit without a certificate: %d %v %v", r.status, r.header, r.body)
	}
}

// TestCLI_Kerberos logs a user in with kinit against a real MIT KDC and
// submits with the CLI's --kerberos: the server, holding the service
// keytab, records the user as the owner.
func TestCLI_Kerberos(t *testing.T) {
	kdc := krb5test.Start(t)
	gittest.SkipIfNoGit(t)
	kdc.AddUser(t, "alice", "alice-pw")
	keytab := kdc.AddService(t, "HTTP/localhost")
	ccache := kdc.Kinit(t, "alice", "alice-pw")
	clk := &clock{t: time.Now()}
	repos := t.TempDir()
	groups := writeFile(t, "groups.yaml", "packager: [alice]\n")
	config := writeFile(t, "rida.yaml", fmt.Sprintf("auth:\n  method: [kerberos]\n  admin_groups: [packager]\n  group_file: %s\n  kerberos: {keytab: %s}\n", groups, keytab))
	srv := startServer(t, filepath.Join(t.TempDir(), "rida.db"), clk, "--config", config,
		"--allow-scm", "file://"+repos, "--rpms-base", "file://"+repos+"/rpms")
	base := strings.Replace(srv.base, "127.0.0.1", "localhost", 1)
	gittest.MustComponentRepo(t, repos, "tangerine")
	url, commit := gittest.MustModuleRepo(t, repos, "krbmodule", oneContextYAML)
	env := map[string]string{"KRB5CCNAME": "FILE:" + ccache, "KRB5_CONFIG": kdc.ConfigPath, "USER": "root"}

	// Without a ticket: the server's 401 message.
	out, err := runCLI(t, env, "submit", url+"?#"+commit, "--branch", "main", "--server", base)
	if err == nil || !strings.Contains(out, "rida: Authentication is required to submit module builds: send credentials (kerberos).") {
		t.Errorf("submit without --kerberos: %v\n%s", err, out)
	}
	// With one: alice (an admin here) imports the platform, then
	// submits, and owns the build.
	platform := writeFile(t, "platform.yaml", platformYAML)
	if out, err := runCLI(t, env, "import-module", platform, "--server", base, "--kerberos"); err != nil {
		t.Fatalf("import with --kerberos: %v\n%s", err, out)
	}
	out, err = runCLI(t, env, "submit", url+"?#"+commit, "--branch", "main", "--server", base, "--kerberos", "-o", "json")
	if err != nil || !strings.Contains(out, `"owner": "alice"`) {
		t.Errorf("submit with --kerberos: %v\n%s", err, out)
	}
	r := authDo(t, nil, base, "GET", "/module-build-service/2/module-builds/?short=true", "Negotiate bm90IGEgdGlja2V0", "")
	if r.status != 401 || r.header.Get("WWW-Authenticate") != "Negotiate" {
		t.Errorf("garbage Negotiate token: %d %v %v", r.status, r.header, r.body)
	}
}

// Ensure the auth settings layer like the others: file, then environment,
// then flags, and validation names the wrong setting.
func TestConfig_Auth(t *testing.T) {
	file := writeFile(t, "rida.yaml", "auth:\n  method: [kerberos]\n  kerberos: {keytab: /file.keytab}\n  admin_groups: [admins]\n")
	env := map[string]string{"RIDA_AUTH": "oidc, kerberos", "RIDA_AUTH_OIDC_ISSUER": "https://id.example.org", "RIDA_AUTH_OIDC_AUDIENCE": "rida"}
	m := &Main{Getenv: func(k string) string { return env[k] }}
	cmd := m.serveCmd()
	if err := cmd.ParseFlags([]string{"--config", file, "--tls-cert", "c.pem", "--tls-key", "k.pem"}); err != nil {
		t.Fatal(err)
	}
	c, err := m.loadConfig(cmd.Flags())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Auth.Methods, ","); got != "oidc,kerberos" || c.Auth.Kerberos.Keytab != "/file.keytab" || c.Auth.OIDC.Issuer != "https://id.example.org" ||
		c.Auth.TLS.Cert != "c.pem" || c.Auth.AdminGroups[0] != "admins" || !c.Auth.AnonymousReads || c.Auth.RateLimit.Limit != 60 {
		t.Errorf("auth config = %+v", c.Auth)
	}
	for _, bad := range []map[string]string{
		{"RIDA_AUTH": "none,oidc"}, {"RIDA_AUTH": "password"}, {"RIDA_AUTH": "kerberos"}, {"RIDA_AUTH": "cert"},
	} {
		m := &Main{Getenv: func(k string) string { return bad[k] }}
		cmd := m.serveCmd()
		if _, err := m.loadConfig(cmd.Flags()); err == nil || !strings.Contains(err.Error(), "auth.") {
			t.Errorf("%v: %v, want an auth.* configuration error", bad, err)
		}
	}
}

// headerTransport adds headers to every request, as an authenticating
// proxy in front of rida would.
type headerTransport struct {
	header http.Header
	base   http.RoundTripper
}

func (h headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for k, vs := range h.header {
		req.Header[k] = vs
	}
	return h.base.RoundTrip(req)
}

// proxyClient is an HTTP client from local address from (empty: the
// system's choice) sending headers (name, value pairs).
func proxyClient(from string, headers ...string) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if from != "" {
		tr.DialContext = (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}).DialContext
	}
	h := http.Header{}
	for i := 0; i < len(headers); i += 2 {
		h.Add(headers[i], headers[i+1])
	}
	return &http.Client{Transport: headerTransport{header: h, base: tr}, Timeout: time.Minute}
}

// TestServe_ProxyAuth runs rida serve behind a (simulated) authenticating
// proxy on 127.0.0.1: the user it names in X-Remote-User (realm stripped)
// owns their builds, its X-Remote-Groups header decides the allowed and
// admin groups, a request without the header is anonymous, and a peer
// that is not the proxy (127.0.0.2, and ::1 to a server trusting IPv4
// only) sending the header is refused with a 401, even on reads.
func TestServe_ProxyAuth(t *testing.T) {
	gittest.SkipIfNoGit(t)
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	repos := t.TempDir()
	config := writeFile(t, "rida.yaml", `auth:
  method: [proxy]
  allowed_groups: [packager]
  admin_groups: [rida-admins]
  proxy:
    groups_header: X-Remote-Groups
    trusted: [127.0.0.1/32, "::1/128"]
    strip_realm: true
`)
	srv := startServer(t, filepath.Join(t.TempDir(), "rida.db"), clk, "--config", config,
		"--allow-scm", "file://"+repos, "--rpms-base", "file://"+repos+"/rpms")
	const (
		builds = "/module-build-service/2/module-builds/"
		authn  = "Authentication is required to submit module builds: send credentials (proxy)."
	)
	proxied := func(user, groups string) *http.Client {
		h := []string{"X-Remote-User", user}
		if groups != "" {
			h = append(h, "X-Remote-Groups", groups)
		}
		return proxyClient("", h...)
	}
	carol := proxied("carol@EXAMPLE.ORG", "rida-admins")
	alice := proxied("alice@EXAMPLE.ORG", "packager, qa")
	bob := proxied("bob", "packager")
	eve := proxied("eve", "qa")

	if r := authDo(t, carol, srv.base, "POST", "/module-build-service/2/import-module/", "", `{"modulemd": `+jsonString(platformYAML)+`}`); r.status != 201 {
		t.Fatalf("carol imports the platform: %d %v", r.status, r.body)
	}
	gittest.MustComponentRepo(t, repos, "tangerine")
	n := 0
	submit := func(client *http.Client) authReply {
		t.Helper()
		n++
		url, commit := gittest.MustModuleRepo(t, repos, fmt.Sprintf("proxied%d", n), oneContextYAML)
		return authDo(t, client, srv.base, "POST", "/module-build-service/1/module-builds/", "", `{"scmurl": "`+url+`?#`+commit+`", "branch": "main"}`)
	}
	r := submit(alice)
	if r.status != 201 || r.body["owner"] != "alice" {
		t.Fatalf("alice submits through the proxy: %d %v", r.status, r.body)
	}
	own := fmt.Sprintf("%s%d", builds, int64(r.body["id"].(float64)))
	if r := authDo(t, bob, srv.base, "PATCH", own, "", `{"state": "failed"}`); r.status != 403 || !strings.Contains(r.message(), "You are not owner of this build") {
		t.Errorf("bob cancels alice's build: %d %v", r.status, r.body)
	}
	if r := authDo(t, alice, srv.base, "PATCH", own, "", `{"state": "failed"}`); r.status != 200 || r.body["state_reason"] != "Canceled by alice." {
		t.Errorf("alice cancels her build: %d %v", r.status, r.body)
	}
	// Groups come from the header alone here.
	if r := submit(eve); r.status != 403 || !strings.Contains(r.message(), "eve is not in any of the groups allowed to submit module builds (packager); their groups: qa.") {
		t.Errorf("eve (qa) submits: %d %v", r.status, r.body)
	}
	if r := submit(proxied("alice", "")); r.status != 403 || !strings.Contains(r.message(), "their groups: none") {
		t.Errorf("alice without the groups header submits: %d %v", r.status, r.body)
	}
	if r := authDo(t, bob, srv.base, "POST", "/module-build-service/2/import-module/", "", `{"modulemd": `+jsonString(strings.Replace(platformYAML, "stream: f28", "stream: f30", 1))+`}`); r.status != 403 || !strings.Contains(r.message(), "admin groups allowed to import modules (rida-admins)") {
		t.Errorf("bob imports: %d %v", r.status, r.body)
	}
	if r := authDo(t, nil, srv.base, "GET", "/module-build-service/2/about/", "", ""); r.body["auth_method"] != "proxy" {
		t.Errorf("about: %v", r.body)
	}

	// No header from the proxy: anonymous, reads allowed, writes 401.
	if r := authDo(t, nil, srv.base, "GET", builds+"?short=true", "", ""); r.status != 200 {
		t.Errorf("anonymous read: %d %v", r.status, r.body)
	}
	if r := submit(nil); r.status != 401 || r.message() != authn || r.header.Get("WWW-Authenticate") != `Proxy realm="rida"` {
		t.Errorf("anonymous submit: %d %v %v", r.status, r.header, r.body)
	}
	// Values that name no one are refused.
	for value, msg := range map[string]string{
		"alice bob":                 "The proxy's X-Remote-User header is not a user name: names may not contain spaces",
		"(null)":                    "an unset variable in the proxy's configuration",
		"@EXAMPLE.ORG":              "empty name",
		strings.Repeat("a", 300):    "longer than 256 bytes",
		"mallory,alice@EXAMPLE.ORG": "comma",
	} {
		if r := submit(proxied(value, "packager")); r.status != 401 || !strings.Contains(r.message(), msg) {
			t.Errorf("user %.20q: %d %v, want 401 containing %q", value, r.status, r.body, msg)
		}
	}
	if r := submit(proxied("alice", "packager,bad\xffgroup")); r.status != 401 || !strings.Contains(r.message(), "X-Remote-Groups header is not a list of groups") {
		t.Errorf("bad groups: %d %v", r.status, r.body)
	}

	// A peer that is not the proxy: the header is refused, never ignored.
	t.Run("untrusted IPv4 peer", func(t *testing.T) {
		c := proxyClient("127.0.0.2", "X-Remote-User", "carol", "X-Remote-Groups", "rida-admins")
		if _, err := proxyClient("127.0.0.2").Get(srv.base + "/module-build-service/2/about/"); err != nil {
			t.Skipf("cannot connect from 127.0.0.2: %v", err)
		}
		const msg = "The X-Remote-User header is only accepted from the authenticating proxy, and 127.0.0.2 is not one of its addresses (auth.proxy.trusted)"
		if r := submit(c); r.status != 401 || !strings.Contains(r.message(), msg) || r.header.Get("WWW-Authenticate") != `Proxy realm="rida"` {
			t.Errorf("submit: %d %v %v", r.status, r.header, r.body)
		}
		if r := authDo(t, c, srv.base, "GET", builds+"?short=true", "", ""); r.status != 401 || !strings.Contains(r.message(), msg) {
			t.Errorf("read: %d %v", r.status, r.body)
		}
		if r := authDo(t, proxyClient("127.0.0.2"), srv.base, "GET", builds+"?short=true", "", ""); r.status != 200 {
			t.Errorf("read without the header: %d %v", r.status, r.body)
		}
	})
	t.Run("untrusted IPv6 peer", func(t *testing.T) {
		ln, err := net.Listen("tcp", "[::1]:0")
		if err != nil {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		ln.Close()
		v4only := writeFile(t, "rida.yaml", "auth:\n  method: [proxy]\n  proxy: {trusted: [127.0.0.1]}\n")
		srv6 := startServer(t, filepath.Join(t.TempDir(), "rida.db"), clk, "--config", v4only, "--listen", "[::1]:0")
		r := authDo(t, proxied("carol", ""), srv6.base, "GET", builds, "", "")
		if r.status != 401 || !strings.Contains(r.message(), "and ::1 is not one of its addresses") {
			t.Errorf("read from ::1: %d %v", r.status, r.body)
		}
	})
}

// TestServe_ProxyAuthConfig checks that serve will not trust a proxy's
// header without knowing the proxy, and that proxy counts as
// authentication off loopback.
func TestServe_ProxyAuthConfig(t *testing.T) {
	for what, c := range map[string]struct {
		args []string
		env  map[string]string
		msg  string
	}{
		"no trusted": {[]string{"--auth", "proxy"}, nil,
			"auth.proxy.trusted: proxy needs the addresses of the proxies allowed to name the user (e.g. [127.0.0.1/32, ::1/128]): without them anyone who can reach rida could send X-Remote-User and be anyone"},
		"bad address": {[]string{"--auth", "proxy"}, map[string]string{"RIDA_AUTH_PROXY_TRUSTED": "127.0.0.1, proxy.example.org"},
			`auth.proxy: trusted proxy "proxy.example.org": want an IP address or a CIDR prefix`},
		"everyone": {[]string{"--auth", "oidc,proxy"}, map[string]string{"RIDA_AUTH_PROXY_TRUSTED": "::/0", "RIDA_AUTH_OIDC_ISSUER": "https://id.example.org"},
			"trusted ::/0 is every address"},
	} {
		var out bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return c.env[k] }, Now: time.Now}
		db := filepath.Join(t.TempDir(), "rida.db")
		err := m.Run(t.Context(), append([]string{"serve", "--listen", "127.0.0.1:0", "--db", "sqlite:" + db, "--no-engine"}, c.args...))
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: serve = %v, want %q", what, err, c.msg)
		}
		if _, err := os.Stat(db); err == nil {
			t.Errorf("%s: the refused serve created its database", what)
		}
	}
	config := writeFile(t, "rida.yaml", "auth:\n  method: [proxy]\n  proxy:\n    user_header: Remote-User\n    trusted: [10.0.0.0/8]\n")
	srv := startServer(t, filepath.Join(t.TempDir(), "rida.db"), &clock{t: time.Now()}, "--config", config, "--listen", "0.0.0.0:0")
	// 127.0.0.1 is not the proxy here.
	u, err := url.Parse(srv.base)
	if err != nil {
		t.Fatal(err)
	}
	if r := authDo(t, proxyClient("", "Remote-User", "alice"), "http://127.0.0.1:"+u.Port(), "GET", "/module-build-service/2/about/", "", ""); r.status != 401 || !strings.Contains(r.message(), "The Remote-User header is only accepted from the authenticating proxy, and 127.0.0.1") {
		t.Errorf("about from 127.0.0.1 with Remote-User: %d %v", r.status, r.body)
	}
}
