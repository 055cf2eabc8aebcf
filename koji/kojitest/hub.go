package kojitest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rida-build/rida/internal/xmlrpc"
)

// Version is the Koji version the hub answers (getKojiVersion and the
// Koji-Version header), the one the captures were taken from.
const Version = "1.35.3"

// ClientCertHeader names the user a test's "client certificate" names
// when it calls sslLogin over plain HTTP: the hub reads it on
// <URL>/ssllogin as Apache's mod_ssl would fill SSL_CLIENT_S_DN_CN. Over
// TLS (Options.TLS) real client certificates ([FakeHub.TLSClient]) work too.
const ClientCertHeader = "Kojitest-Client-Cert-CN"

// maxRequest is the hub's MaxRequestLength for XML-RPC bodies.
const maxRequest = 4194304

// Options configure a hub. The zero value is a hub with the users
// kojiadmin (password kojiadmin, admin, content generator
// module-build-service) and testuser (password testuser, no permission),
// the build types rpm, maven, win, image and module, the content
// generator module-build-service and ids starting at 1.
type Options struct {
	// Users are created in order (ids from NextIDs.User).
	Users []User
	// ContentGenerators are created in order; a CG a user is granted is
	// created too.
	ContentGenerators []string
	// BTypes are the build types, in id order; nil is rpm, maven, win,
	// image, module (addBType('module') done, as MBS needs).
	BTypes []string
	// Packages exist before the first call, in id order.
	Packages []string
	// ArchiveTypes add to the archive types known by extension (txt is
	// always there, id 40 as on a real hub).
	ArchiveTypes []ArchiveType
	// NextIDs are the first ids of each table (sequence values), so that a
	// hub can continue a story; zero fields start at 1.
	NextIDs IDs
	// Now is the hub's clock (time.Now when nil).
	Now func() time.Time
	// SessionTimeout is SessionRenewalTimeout: sessions older than this
	// (since login or renewal) answer AuthExpired. Zero never expires them
	// by time; ExpireSession expires one at once.
	SessionTimeout time.Duration
	// TLS serves https with a certificate the hub's Client trusts, and
	// asks for client certificates on /ssllogin (see TLSClient).
	TLS bool
	// KerberosKeytab turns on GSSAPI logins: sslLogin on /ssllogin with
	// "Authorization: Negotiate <token>" logs in the ticket's client
	// principal user@REALM as the user "user", the ticket checked against
	// this keytab's keys (e.g. HTTP/127.0.0.1@REALM; see kerberos.go).
	KerberosKeytab string
	// KerberosRealm is the hub's AllowedKrbRealms: principals of other
	// realms are refused. Empty allows any realm the keytab can check.
	KerberosRealm string
	// TopDir is KojiDir as it shows in messages ("/mnt/koji" when empty).
	TopDir string
	// Builder decides the outcome of build tasks that RunTask runs; without
	// it RunTask refuses build tasks (use CompleteBuild or FailTask).
	Builder func(Task) (BuildResult, error)
	// AutoRun runs the tasks a request created (tagBuild, newRepo, and
	// build with a Builder) right after answering it, as a builder that is
	// very fast would.
	AutoRun bool
}

// User is a hub user.
type User struct {
	Name, Password string
	// Perms are permission names: admin, tag, target, repo, regen-repo, ...
	Perms []string
	// CG are the content generators the user may act as (grantCGAccess).
	CG []string
	// Blocked users cannot log in.
	Blocked bool
}

// IDs are the next value of each id sequence.
type IDs struct {
	User, Session, Tag, Target, Package, Group, Build, Task, Event, RPM, Archive, Buildroot, Repo int64
}

// ArchiveType is a row of Koji's archivetypes table.
type ArchiveType struct {
	ID          int64
	Name        string
	Description string
	Extensions  string // space-separated
}

// Call is a request (or a call inside a multicall) the hub received.
type Call struct {
	// Method is the XML-RPC method; empty for a fast upload (Upload set).
	Method string
	Params []any
	KwArgs xmlrpc.KwArgs
	// Upload is "<filepath>/<filename>" of a fast upload.
	Upload      string
	Header      http.Header
	Path, Query string
	// Parent is the 1-based index in Calls of the multicall this call was
	// part of; 0 for a call that was a request of its own.
	Parent int
	// Fault is what the call answered when it failed.
	Fault *xmlrpc.Fault
}

// FakeHub is an in-memory Koji hub behind an httptest server.
type FakeHub struct {
	srv    *httptest.Server
	opts   Options
	topDir string
	now    func() time.Time
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	krb    *kerberosAcceptor // nil without Options.KerberosKeytab

	mu      sync.Mutex
	seq     IDs
	methods map[string]method
	calls   []Call

	// krbPrincipal is REMOTE_USER of the request being served (a valid
	// Negotiate token's principal), krbRefused why its token was refused.
	krbPrincipal, krbRefused string

	users      map[int64]*user
	userByName map[string]*user
	perms      []*perm
	sessions   map[int64]*session
	cgs        []*contentGenerator
	btypes     []*btype
	pkgs       map[int64]*pkg
	pkgByName  map[string]*pkg
	tags       map[int64]*tag
	tagByName  map[string]*tag // every name ever used; deleted tags keep theirs
	targets    map[int64]*target
	groups     map[int64]*groupName
	builds     map[int64]*build
	rpms       []*rpm
	archives   []*archive
	archTypes  []ArchiveType
	buildroots map[int64]*buildroot
	tasks      map[int64]*task
	repos      map[int64]*repo
	extRepos   []*extRepo
	events     map[int64]time.Time
	lastEvent  int64
	uploads    map[string]*upload // clean path below work/ → file
	uploadDirs map[string]int64   // clean directory below work/ → uploading user
	imports    []Import
	msgs       messageLog
}

// New starts a hub; Close stops it.
func New(opts Options) *FakeHub {
	h := newHub(opts)
	h.srv = httptest.NewUnstartedServer(h)
	if opts.TLS {
		pool := x509.NewCertPool()
		pool.AddCert(h.ca)
		h.srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}
		h.srv.StartTLS()
	} else {
		h.srv.Start()
	}
	return h
}

// NewHub starts a hub that stops when the test ends.
func NewHub(tb testing.TB, opts Options) *FakeHub {
	tb.Helper()
	h := New(opts)
	tb.Cleanup(h.Close)
	return h
}

// URL is the hub's XML-RPC URL (…/kojihub); certificate logins go to
// URL()+"/ssllogin".
func (h *FakeHub) URL() string { return h.srv.URL + "/kojihub" }

// Client is an HTTP client for the hub (it trusts the TLS certificate).
func (h *FakeHub) Client() *http.Client { return h.srv.Client() }

// Close stops the hub.
func (h *FakeHub) Close() { h.srv.Close() }

// ServerCAPEM is the PEM certificate that verifies the hub over TLS
// (Options.TLS), for a koji.conf serverca.
func (h *FakeHub) ServerCAPEM() []byte {
	if h.srv.Certificate() == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.srv.Certificate().Raw})
}

// ClientCert is a client certificate for user (its CN), signed by the CA
// the hub trusts on /ssllogin.
func (h *FakeHub) ClientCert(user string) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: user, Organization: []string{"kojitest"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, h.ca, &key.PublicKey, h.caKey)
	if err != nil {
		panic(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// ClientCertPEM is ClientCert as one PEM file (certificate and key), the
// form of a koji.conf cert.
func (h *FakeHub) ClientCertPEM(user string) []byte {
	c := h.ClientCert(user)
	key, err := x509.MarshalECPrivateKey(c.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		panic(err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: key})...)
}

// WriteClientCert writes ClientCertPEM(user) and ServerCAPEM into dir and
// returns their paths.
func (h *FakeHub) WriteClientCert(dir, user string) (cert, serverCA string, err error) {
	cert, serverCA = filepath.Join(dir, user+".pem"), filepath.Join(dir, "serverca.pem")
	if err := os.WriteFile(cert, h.ClientCertPEM(user), 0o600); err != nil {
		return "", "", err
	}
	return cert, serverCA, os.WriteFile(serverCA, h.ServerCAPEM(), 0o644)
}

// TLSClient is an HTTP client for a TLS hub that presents a client
// certificate for user (no certificate when user is empty).
func (h *FakeHub) TLSClient(user string) *http.Client {
	c := h.srv.Client()
	tr := c.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig = tr.TLSClientConfig.Clone()
	if user != "" {
		tr.TLSClientConfig.Certificates = []tls.Certificate{h.ClientCert(user)}
	}
	return &http.Client{Transport: tr, Timeout: c.Timeout}
}

// Calls returns every call received so far, oldest first: requests and
// the calls inside multicalls (after their multicall).
func (h *FakeHub) Calls() []Call {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Call(nil), h.calls...)
}

// CountCalls counts the calls of a method, inside multicalls too.
func (h *FakeHub) CountCalls(method string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.calls {
		if c.Method == method {
			n++
		}
	}
	return n
}

// ResetCalls forgets the calls received so far.
func (h *FakeHub) ResetCalls() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = nil
}

func newHub(opts Options) *FakeHub {
	h := &FakeHub{
		opts:       opts,
		topDir:     opts.TopDir,
		now:        opts.Now,
		users:      map[int64]*user{},
		userByName: map[string]*user{},
		sessions:   map[int64]*session{},
		pkgs:       map[int64]*pkg{},
		pkgByName:  map[string]*pkg{},
		tags:       map[int64]*tag{},
		tagByName:  map[string]*tag{},
		targets:    map[int64]*target{},
		groups:     map[int64]*groupName{},
		builds:     map[int64]*build{},
		buildroots: map[int64]*buildroot{},
		tasks:      map[int64]*task{},
		repos:      map[int64]*repo{},
		events:     map[int64]time.Time{},
		uploads:    map[string]*upload{},
		uploadDirs: map[string]int64{},
	}
	if h.topDir == "" {
		h.topDir = "/mnt/koji"
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.seq = opts.NextIDs
	for _, p := range []*int64{&h.seq.User, &h.seq.Session, &h.seq.Tag, &h.seq.Target, &h.seq.Package,
		&h.seq.Group, &h.seq.Build, &h.seq.Task, &h.seq.Event, &h.seq.RPM, &h.seq.Archive, &h.seq.Buildroot, &h.seq.Repo} {
		if *p == 0 {
			*p = 1
		}
	}
	h.lastEvent = h.seq.Event - 1
	h.events[h.lastEvent] = h.clock()
	h.caKey, h.ca = newCA()
	h.krb = newKerberosAcceptor(opts)
	h.seed()
	h.register()
	return h
}

func newCA() (*ecdsa.PrivateKey, *x509.Certificate) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kojitest CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return key, ca
}

// clock is the hub's time, in UTC to the microsecond (PostgreSQL's
// precision).
func (h *FakeHub) clock() time.Time { return h.now().UTC().Truncate(time.Microsecond) }

// next returns the next value of a sequence.
func next(p *int64) int64 {
	v := *p
	*p++
	return v
}

// newEvent makes an event (get_event()).
func (h *FakeHub) newEvent() int64 {
	id := next(&h.seq.Event)
	h.lastEvent = id
	h.events[id] = h.clock()
	return id
}

// AdvanceEvent records an event as an unrelated change on a real hub
// would (a host, a channel, another user's tag), and returns its id.
func (h *FakeHub) AdvanceEvent() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.newEvent()
}

// ServeHTTP is the hub's HTTP handler: XML-RPC calls, multicalls and fast
// uploads, with Koji's transport rules (koji.md §2.1).
func (h *FakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Koji-Version", Version)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		textReply(w, http.StatusMethodNotAllowed, "Method Not Allowed\nThis is an XML-RPC server. Only POST requests are accepted.\n")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		textReply(w, http.StatusBadRequest, err.Error()+"\n")
		return
	}
	h.mu.Lock()
	defer h.unlock()
	created := h.seq.Task
	if r.Header.Get("Content-Type") == "application/octet-stream" {
		h.serveUpload(w, r, body)
	} else if !h.serveRPC(w, r, body) {
		return
	}
	if h.opts.AutoRun {
		h.autoRun(created)
	}
}

func textReply(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	io.WriteString(w, msg)
}

func xmlReply(w http.ResponseWriter, v any, herr *hubErr) {
	var (
		out []byte
		err error
	)
	if herr != nil {
		out, err = xmlrpc.EncodeFault(herr.code, herr.faultString())
	} else {
		out, err = xmlrpc.EncodeResponse(v)
	}
	if err != nil {
		out, _ = xmlrpc.EncodeFault(codePython, "<class 'TypeError'>: cannot marshal: "+err.Error())
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Write(out)
}

// serveRPC answers one XML-RPC request; false when it was not one.
func (h *FakeHub) serveRPC(w http.ResponseWriter, r *http.Request, body []byte) bool {
	if len(body) == 0 {
		textReply(w, http.StatusBadRequest, "Invalid request: Empty request\n")
		return false
	}
	if len(body) > maxRequest {
		textReply(w, http.StatusBadRequest, "Invalid request: Request too long\n")
		return false
	}
	name, params, err := xmlrpc.DecodeCall(body)
	if err != nil {
		textReply(w, http.StatusBadRequest, "Invalid request: "+parseError(body, err)+"\n")
		return false
	}
	rec := Call{Method: name, Header: r.Header.Clone(), Path: r.URL.Path, Query: r.URL.RawQuery}
	rec.Params, rec.KwArgs = xmlrpc.SplitKwArgs(params)
	h.calls = append(h.calls, rec)
	idx := len(h.calls) - 1
	c := &call{h: h, method: name}
	c.ssl, c.sslVerify = h.certUser(r)
	h.krbPrincipal, h.krbRefused = h.krb.remoteUser(r)
	c.rec = idx
	v, herr := h.serveCall(c, r, name, params)
	if herr != nil {
		h.calls[idx].Fault = &xmlrpc.Fault{Code: herr.code, String: herr.faultString()}
	}
	xmlReply(w, v, herr)
	return true
}

// parseError words a malformed body as the hub's expat parser does when
// the input stops early ("no element found: line 5, column 0").
func parseError(body []byte, err error) string {
	if de, ok := err.(*xmlrpc.DecodeError); ok && strings.Contains(de.Msg, "unexpected end of input") {
		line := 1 + bytes.Count(body, []byte{'\n'})
		col := len(body) - 1 - bytes.LastIndexByte(body, '\n')
		return "no element found: line " + strconv.Itoa(line) + ", column " + strconv.Itoa(col)
	}
	return err.Error()
}

// serveCall runs a request's call: method lookup, session check, the call,
// and the commit that stores the session's callnum.
func (h *FakeHub) serveCall(c *call, r *http.Request, name string, params []any) (any, *hubErr) {
	m, ok := h.methods[name]
	if !ok {
		return nil, genericErr("Invalid method: %s", name)
	}
	callnum, herr := h.checkSession(c, r, name)
	if herr != nil {
		return nil, herr
	}
	pos, kw := xmlrpc.SplitKwArgs(params)
	a, herr := m.sig.bind(pos, kw)
	if herr != nil {
		return nil, herr
	}
	mark := h.queued()
	v, herr := m.fn(c, a)
	if herr != nil {
		h.dropMessages(mark)
	}
	if herr == nil && c.wrote && c.sess != nil && callnum != nil {
		c.sess.callnum = callnum
	}
	return v, herr
}

// certUser is what Apache tells the hub about the client certificate on
// /ssllogin: the CN it names, or SSL_CLIENT_VERIFY's value when none.
func (h *FakeHub) certUser(r *http.Request) (user, verify string) {
	if !strings.HasSuffix(r.URL.Path, "/ssllogin") {
		return "", "None"
	}
	if r.TLS != nil {
		if len(r.TLS.VerifiedChains) > 0 && len(r.TLS.PeerCertificates) > 0 {
			return r.TLS.PeerCertificates[0].Subject.CommonName, "SUCCESS"
		}
		return "", "NONE" // over TLS only a certificate counts
	}
	if cn := r.Header.Get(ClientCertHeader); cn != "" {
		return cn, "SUCCESS"
	}
	return "", "None"
}
