// Package authtest provides what tests of authentication need: an OIDC
// issuer (discovery, JWKS, token introspection) on httptest that mints
// tokens, and a certificate authority that issues server and client
// certificates.
package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Issuer is an OpenID provider for tests: it serves discovery, its JWKS and
// an RFC 7662 introspection endpoint, and signs tokens with its key.
type Issuer struct {
	// URL is the issuer URL (the httptest server's).
	URL string
	// ClientID and ClientSecret are what the introspection endpoint wants
	// in Basic authentication.
	ClientID, ClientSecret string

	key   *rsa.PrivateKey
	srv   *httptest.Server
	mu    sync.Mutex
	known map[string]map[string]any // opaque token → introspection answer
}

// NewIssuer starts an issuer that stops when t ends.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss := &Issuer{ClientID: "rida", ClientSecret: "rida-secret", key: key, known: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{
			"issuer": iss.URL, "jwks_uri": iss.URL + "/jwks", "introspection_endpoint": iss.URL + "/introspect",
			"authorization_endpoint": iss.URL + "/auth", "token_endpoint": iss.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"keys": []any{jwk(&key.PublicKey, "k1")}})
	})
	mux.HandleFunc("POST /introspect", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || id != iss.ClientID || secret != iss.ClientSecret {
			w.WriteHeader(http.StatusUnauthorized)
			writeJSON(w, map[string]any{"error": "invalid_client"})
			return
		}
		iss.mu.Lock()
		answer, ok := iss.known[r.PostFormValue("token")]
		iss.mu.Unlock()
		if !ok {
			answer = map[string]any{"active": false}
		}
		writeJSON(w, answer)
	})
	iss.srv = httptest.NewServer(mux)
	t.Cleanup(iss.srv.Close)
	iss.URL = iss.srv.URL
	return iss
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func jwk(pub *rsa.PublicKey, kid string) map[string]any {
	return map[string]any{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// Claims returns the claims of a valid token for user: this issuer, the
// audience, expiring an hour after now, the openid scope and groups.
func (iss *Issuer) Claims(user, audience string, now time.Time, groups ...string) map[string]any {
	return map[string]any{
		"iss": iss.URL, "sub": "id-" + user, "aud": audience, "preferred_username": user,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "scope": "openid profile", "groups": groups,
	}
}

// Sign returns claims as an RS256 JWT signed with the issuer's key.
func (iss *Issuer) Sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	return SignJWT(t, iss.key, "k1", claims)
}

// SignJWT signs claims with key, naming kid in the header: with another
// key than the issuer's it makes a token whose signature does not verify.
func SignJWT(t testing.TB, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	signed := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// Opaque registers an opaque token whose introspection answers answer
// (e.g. {"active": true, "username": "alice"}) and returns it.
func (iss *Issuer) Opaque(token string, answer map[string]any) string {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.known[token] = answer
	return token
}

// CA is a certificate authority for tests.
type CA struct {
	Cert *x509.Certificate
	key  crypto.Signer
	// PEMPath is its certificate, PEM-encoded, in a temporary file.
	PEMPath string
	serial  int64
	mu      sync.Mutex
}

// NewCA makes a CA valid from a day before now for ten years.
func NewCA(t testing.TB, name string, now time.Time) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &CA{Cert: cert, key: key, PEMPath: path, serial: 1}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// Pool returns a pool trusting the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Client issues a client certificate for cn valid from notBefore to
// notAfter.
func (ca *CA) Client(t testing.TB, cn string, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	return ca.issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: cn}, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// Server issues a server certificate for 127.0.0.1 and localhost, valid
// around now.
func (ca *CA) Server(t testing.TB, now time.Time) tls.Certificate {
	t.Helper()
	return ca.issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "localhost"}, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
}

func (ca *CA) issue(t testing.TB, tmpl *x509.Certificate) tls.Certificate {
	t.Helper()
	ca.mu.Lock()
	ca.serial++
	tmpl.SerialNumber = big.NewInt(ca.serial)
	ca.mu.Unlock()
	key := newKey(t)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// WritePEM writes cert and its key to certificate and key files in a
// temporary directory, for flags such as --tls-cert/--tls-key.
func WritePEM(t testing.TB, cert tls.Certificate) (certPath, keyPath string) {
	t.Helper()
	dir := t.TempDir()
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}
