package koji

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/internal/xmlrpc"
)

// Koji's fault codes that the client acts on (koji.md §2.4).
const (
	FaultGeneric        = 1000
	FaultAuth           = 1002
	FaultActionNotAllow = 1004
	FaultAuthExpired    = 1007
	FaultSequence       = 1008
	FaultRetry          = 1009
	FaultServerOffline  = 1014
	FaultParameter      = 1019
)

var faultNames = map[int]string{
	1: "PythonException", 1000: "GenericError", 1001: "LockError", 1002: "AuthError", 1003: "TagError",
	1004: "ActionNotAllowed", 1005: "BuildError", 1006: "AuthLockError", 1007: "AuthExpired",
	1008: "SequenceError", 1009: "RetryError", 1010: "PreBuildError", 1011: "PostBuildError",
	1012: "BuildrootError", 1013: "FunctionDeprecated", 1014: "ServerOffline", 1015: "LiveCDError",
	1016: "PluginError", 1017: "CallbackError", 1018: "ApplianceError", 1019: "ParameterError",
	1020: "ImportError", 1021: "ConfigurationError", 1022: "LiveMediaError", 1023: "GSSAPIAuthError",
	1024: "NameValidationError",
}

// FaultError is a fault the hub answered: Koji's code, its class name and
// its message, with the method that raised it.
type FaultError struct {
	Method string
	Code   int
	String string
}

// Name is the Koji exception class of the code ("GenericError", ...).
func (e *FaultError) Name() string {
	if n, ok := faultNames[e.Code]; ok {
		return n
	}
	return "Fault" + strconv.Itoa(e.Code)
}

func (e *FaultError) Error() string {
	return fmt.Sprintf("koji %s: %s (%d): %s", e.Method, e.Name(), e.Code, e.String)
}

// FaultCode returns the Koji fault code in err's chain, 0 when there is
// none.
func FaultCode(err error) int {
	var f *FaultError
	if errors.As(err, &f) {
		return f.Code
	}
	return 0
}

// ClientConfig configures a Client; Profile is the koji.conf profile.
type ClientConfig struct {
	Profile Profile
	// HTTPClient, when set, is used as it is (tests); otherwise one is
	// made from the profile (timeout, serverca, cert, no_ssl_verify).
	HTTPClient *http.Client
	// UserAgent is sent with every request; default "rida".
	UserAgent string
	Logger    *slog.Logger
	// Sleep waits between retries; default a timer that stops with ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client calls a Koji hub. It is safe for concurrent use: calls share one
// session, and each call takes the next callnum.
type Client struct {
	url     string
	http    *http.Client
	profile Profile
	agent   string
	log     *slog.Logger
	sleep   func(ctx context.Context, d time.Duration) error
	retries int
	backoff time.Duration

	mu      sync.Mutex
	session *session
	// callMu orders the calls made under the session (see do).
	callMu sync.Mutex
	// loginMu serializes logins and renewals.
	loginMu sync.Mutex
}

type session struct {
	id      int64
	key     string
	callnum int64
}

// NewClient returns a client for the profile's hub. It does not log in.
func NewClient(cfg ClientConfig) (*Client, error) {
	p := cfg.Profile
	if p.Server == "" {
		return nil, rida.Errorf(rida.CodeInvalid, "Koji profile %q has no server", p.Name)
	}
	if p.EffectiveAuthType() == AuthKerberos {
		if err := checkKerberosProfile(p); err != nil {
			return nil, err
		}
	}
	hc := cfg.HTTPClient
	if hc == nil {
		var err error
		if hc, err = httpClient(p); err != nil {
			return nil, err
		}
	}
	c := &Client{
		url: strings.TrimRight(p.Server, "/"), http: hc, profile: p, agent: cfg.UserAgent, log: cfg.Logger, sleep: cfg.Sleep,
		retries: p.MaxRetries, backoff: p.RetryInterval,
	}
	if c.agent == "" {
		c.agent = "rida"
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	if c.retries == 0 {
		c.retries = 30 // the koji client's max_retries
	}
	if c.backoff == 0 {
		c.backoff = 20 * time.Second // the koji client's retry_interval
	}
	return c, nil
}

// httpClient makes the HTTP client of a profile: its timeout, the CA that
// verifies the hub, and the client certificate for ssl logins.
func httpClient(p Profile) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: p.NoSSLVerify} //nolint:gosec // only when the profile asks (no_ssl_verify)
	if p.ServerCA != "" {
		pem, err := os.ReadFile(p.ServerCA)
		if err != nil {
			return nil, rida.Errorf(rida.CodeInvalid, "Koji profile %q: serverca: %v", p.Name, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, rida.Errorf(rida.CodeInvalid, "Koji profile %q: serverca %s holds no PEM certificate", p.Name, p.ServerCA)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	if p.EffectiveAuthType() == AuthSSL {
		if p.Cert == "" {
			return nil, rida.Errorf(rida.CodeInvalid, "Koji profile %q: authtype ssl needs cert", p.Name)
		}
		// koji.conf's cert is one PEM file with the certificate and its key.
		cert, err := tls.LoadX509KeyPair(p.Cert, p.Cert)
		if err != nil {
			return nil, rida.Errorf(rida.CodeInvalid, "Koji profile %q: cert %s: %v", p.Name, p.Cert, err)
		}
		tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
	}
	timeout := p.Timeout
	if timeout == 0 {
		timeout = 12 * time.Hour // the koji client's default: effectively the context's
	}
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Call calls method with params (xmlrpc.KwArgs last for keyword arguments)
// and returns the decoded result. Transport failures are retried with
// backoff under the same callnum (the hub refuses to run a committed call
// twice: RetryError); faults are never retried, except AuthExpired, which
// renews the session and retries once.
func (c *Client) Call(ctx context.Context, method string, params ...any) (any, error) {
	body, err := xmlrpc.EncodeCall(method, params...)
	if err != nil {
		return nil, fmt.Errorf("koji %s: %w", method, err)
	}
	v, err := c.do(ctx, method, c.url, xmlContent, body, true)
	if FaultCode(err) == FaultAuthExpired {
		if rerr := c.renew(ctx); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		v, err = c.do(ctx, method, c.url, xmlContent, body, true)
	}
	return v, err
}

// CallInto calls method and stores the result in dst (xmlrpc.Unmarshal).
func (c *Client) CallInto(ctx context.Context, dst any, method string, params ...any) error {
	v, err := c.Call(ctx, method, params...)
	if err != nil {
		return err
	}
	if err := xmlrpc.Unmarshal(v, dst); err != nil {
		return rida.Errorf(rida.CodeUnavailable, "koji %s: unexpected reply: %v", method, err)
	}
	return nil
}

// Multicall runs calls in one request (one hub transaction); each result
// carries its value or its fault. Keyword arguments (xmlrpc.KwArgs last in
// a call's params) are encoded as koji's client does.
func (c *Client) Multicall(ctx context.Context, calls []xmlrpc.Call) ([]xmlrpc.MulticallResult, error) {
	param, err := xmlrpc.MulticallParam(calls)
	if err != nil {
		return nil, fmt.Errorf("koji multiCall: %w", err)
	}
	v, err := c.Call(ctx, "multiCall", param)
	if err != nil {
		return nil, err
	}
	res, err := xmlrpc.MulticallResults(v)
	if err != nil {
		return nil, rida.Errorf(rida.CodeUnavailable, "koji multiCall: unexpected reply: %v", err)
	}
	if len(res) != len(calls) {
		return nil, rida.Errorf(rida.CodeUnavailable, "koji multiCall: %d results for %d calls", len(res), len(calls))
	}
	return res, nil
}

// Content types of the two kinds of request: XML-RPC calls, and raw upload
// chunks, which the hub routes to its upload handler by this type alone.
const (
	xmlContent    = "text/xml"
	uploadContent = "application/octet-stream"
)

// do posts one request, with the session headers when logged in, retrying
// transport failures under the same callnum.
func (c *Client) do(ctx context.Context, method, url, contentType string, body []byte, withSession bool) (any, error) {
	return c.doAuth(ctx, method, url, contentType, body, withSession, nil)
}

// doAuth is do with authorize, when not nil, called on every attempt's
// request (a Kerberos login's Negotiate header: a fresh authenticator each
// time, so a retry is never a replay).
func (c *Client) doAuth(ctx context.Context, method, url, contentType string, body []byte, withSession bool, authorize func(*http.Request) error) (any, error) {
	var sess *session
	var callnum int64
	if withSession && c.LoggedIn() {
		// The hub refuses a callnum lower than one it has committed
		// (SequenceError), so the calls of a session must reach it in
		// callnum order: one at a time, from taking the number to the
		// answer, retries included.
		c.callMu.Lock()
		defer c.callMu.Unlock()
		c.mu.Lock()
		if c.session != nil {
			sess = c.session
			callnum = sess.callnum
			sess.callnum++
		}
		c.mu.Unlock()
	}
	backoff := c.backoff
	for attempt := 0; ; attempt++ {
		v, err, transient := c.post(ctx, method, url, contentType, body, sess, callnum, authorize)
		if err == nil || !transient || attempt >= c.retries || ctx.Err() != nil {
			return v, err
		}
		// Jitter keeps many callers from retrying in step against a hub
		// that just came back.
		d := backoff + time.Duration(rand.Int64N(int64(backoff)/4+1))
		c.log.WarnContext(ctx, "koji call failed; retrying", "method", method, "attempt", attempt+1, "retry_in", d, "err", err)
		if serr := c.sleep(ctx, d); serr != nil {
			return nil, err
		}
		backoff = min(2*backoff, 5*time.Minute)
	}
}

// post sends one request; transient reports whether a retry may help
// (transport errors and HTTP 5xx; never a fault or a 4xx).
func (c *Client) post(ctx context.Context, method, url, contentType string, body []byte, sess *session, callnum int64, authorize func(*http.Request) error) (any, error, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("koji %s: %w", method, err), false
	}
	if authorize != nil {
		if err := authorize(req); err != nil {
			return nil, err, false
		}
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", c.agent)
	if sess != nil {
		req.Header.Set("Koji-Session-Id", strconv.FormatInt(sess.id, 10))
		req.Header.Set("Koji-Session-Key", sess.key)
		req.Header.Set("Koji-Session-Callnum", strconv.FormatInt(callnum, 10))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, rida.Errorf(rida.CodeUnavailable, "koji %s: %v", method, err), true
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, rida.Errorf(rida.CodeUnavailable, "koji %s: reading the reply: %v", method, err), true
	}
	if len(data) > maxResponse {
		return nil, rida.Errorf(rida.CodeUnavailable, "koji %s: reply larger than %d bytes", method, maxResponse), false
	}
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(data[:min(len(data), 300)]))
		if resp.StatusCode >= 500 {
			return nil, rida.Errorf(rida.CodeUnavailable, "koji %s: HTTP %d: %s", method, resp.StatusCode, msg), true
		}
		// 400 (a request the hub cannot read), 405: rida's fault, not
		// the hub's, so no retry makes it work. 401: the web server in
		// front of the hub refused a login's credentials.
		return nil, &httpStatusError{method: method, status: resp.StatusCode, msg: msg}, false
	}
	v, err := xmlrpc.DecodeResponse(data)
	var fault *xmlrpc.Fault
	switch {
	case errors.As(err, &fault):
		fe := &FaultError{Method: method, Code: fault.Code, String: fault.String}
		if fault.Code == FaultServerOffline {
			// Offline or locked for maintenance: later may work.
			return nil, &rida.Error{Code: rida.CodeUnavailable, Message: fe.Error(), Err: fe}, false
		}
		return nil, fe, false
	case err != nil:
		return nil, rida.Errorf(rida.CodeUnavailable, "koji %s: malformed reply: %v", method, err), false
	}
	return v, nil, false
}

// maxResponse bounds a reply: Koji's largest (listTagged of a big tag) are
// tens of megabytes.
const maxResponse = 256 << 20

// LoggedIn reports whether the client holds a session.
func (c *Client) LoggedIn() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session != nil
}

// Login opens a session as the profile says: password (login), client
// certificate or Kerberos ticket (sslLogin on <hub>/ssllogin, the ticket
// in an "Authorization: Negotiate" header). noauth profiles stay
// anonymous.
func (c *Client) Login(ctx context.Context) error {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	return c.login(ctx, false)
}

// renew logs in again after AuthExpired, as the koji client does: the same
// login call with the old session's headers and renew=True keeps the
// session id and gives a new key.
func (c *Client) renew(ctx context.Context) error {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	return c.login(ctx, true)
}

func (c *Client) login(ctx context.Context, renew bool) (err error) {
	var (
		method, url string
		params      []any
		authorize   func(*http.Request) error
	)
	kw := xmlrpc.KwArgs{}
	switch c.profile.EffectiveAuthType() {
	case AuthNone:
		return nil
	case AuthPassword:
		method, url = "login", c.url
		kw = append(kw, xmlrpc.Member{Name: "opts", Value: nil})
		params = []any{c.profile.User, c.profile.Password}
	case AuthSSL:
		method, url = "sslLogin", c.url+"/ssllogin"
		kw = append(kw, xmlrpc.Member{Name: "proxyuser", Value: nil})
	case AuthKerberos:
		// GSSAPI: the same sslLogin, with a Kerberos ticket for the hub.
		// A new ticket for every login and renewal: the credential cache
		// may hold a newer one by now, and a keytab always gives one.
		method, url = "sslLogin", c.url+"/ssllogin"
		kw = append(kw, xmlrpc.Member{Name: "proxyuser", Value: nil})
		k, kerr := c.kerberosLogin(ctx)
		if kerr != nil {
			return kerr
		}
		defer k.close()
		authorize = k.authorize
		defer func() { err = k.explain(err) }()
	}
	if renew {
		kw = append(kw, xmlrpc.Member{Name: "renew", Value: true})
	}
	if len(kw) > 0 {
		params = append(params, kw)
	}
	body, err := xmlrpc.EncodeCall(method, params...)
	if err != nil {
		return fmt.Errorf("koji %s: %w", method, err)
	}
	// A renewal carries the old session's headers; a first login none
	// (the hub answers "Already logged in" to valid ones).
	v, err := c.doAuth(ctx, method, url, xmlContent, body, renew, authorize)
	if err != nil {
		return err
	}
	var reply struct {
		ID  int64  `xmlrpc:"session-id"`
		Key string `xmlrpc:"session-key"`
	}
	if err := xmlrpc.Unmarshal(v, &reply); err != nil || reply.Key == "" {
		return rida.Errorf(rida.CodeUnavailable, "koji %s: unexpected reply %v", method, v)
	}
	c.mu.Lock()
	next := &session{id: reply.ID, key: reply.Key}
	if renew && c.session != nil {
		// The hub keeps the session's last callnum across a renewal (and
		// records the renewing call's): counting on avoids SequenceError.
		next.callnum = c.session.callnum
	}
	c.session = next
	c.mu.Unlock()
	c.log.InfoContext(ctx, "logged in to Koji", "hub", c.url, "method", method, "session_id", reply.ID, "renewed", renew)
	return nil
}

// Logout closes the session; without one it does nothing.
func (c *Client) Logout(ctx context.Context) error {
	if !c.LoggedIn() {
		return nil
	}
	_, err := c.Call(ctx, "logout")
	c.mu.Lock()
	c.session = nil
	c.mu.Unlock()
	return err
}
