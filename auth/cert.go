package auth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"
)

// Cert authenticates TLS client certificates: the user is the subject's
// common name. The TLS layer only requests a certificate (and checks the
// client holds its key); Cert verifies the chain against the client CAs
// itself, so an unknown or expired certificate gets a 401 saying so rather
// than a failed handshake the client cannot explain.
type Cert struct {
	roots *x509.CertPool
	now   func() time.Time
}

var _ Authenticator = (*Cert)(nil)

// NewCert returns a Cert trusting roots; a nil now is time.Now.
func NewCert(roots *x509.CertPool, now func() time.Time) *Cert {
	if now == nil {
		now = time.Now
	}
	return &Cert{roots: roots, now: now}
}

// Method implements Authenticator.
func (c *Cert) Method() string { return "cert" }

// Challenge implements Authenticator. No HTTP scheme asks for a TLS client
// certificate; this one names what is missing.
func (c *Cert) Challenge() string { return `Certificate realm="rida"` }

// Authenticate implements Authenticator.
func (c *Cert) Authenticate(r *http.Request) (*Identity, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, ErrNoCredentials
	}
	leaf := r.TLS.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, ic := range r.TLS.PeerCertificates[1:] {
		inter.AddCert(ic)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots: c.roots, Intermediates: inter, CurrentTime: c.now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	switch {
	case err == nil:
	case errors.As(err, &unknown):
		return nil, unauthorized(err, "The client certificate %q is not signed by a certificate authority this server trusts.", leaf.Subject.String())
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return nil, unauthorized(err, "The client certificate %q is not valid now (valid from %s until %s).", leaf.Subject.String(),
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	default:
		return nil, unauthorized(err, "The client certificate %q was refused: %v.", leaf.Subject.String(), err)
	}
	if leaf.Subject.CommonName == "" {
		return nil, unauthorized(nil, "The client certificate %q has no subject common name to name the user.", leaf.Subject.String())
	}
	return &Identity{Name: leaf.Subject.CommonName}, nil
}

// ServerTLS returns the TLS configuration of a server with the certificate
// and key in certFile and keyFile. With clientCAFile it also asks clients
// for a certificate, and returns the pool to verify them against (see
// Cert); without, the pool is nil.
func ServerTLS(certFile, keyFile, clientCAFile string) (*tls.Config, *x509.CertPool, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("load TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	if clientCAFile == "" {
		return cfg, nil, nil
	}
	pool, err := LoadCertPool(clientCAFile)
	if err != nil {
		return nil, nil, err
	}
	// Requested, not required and not verified here: reads may stay
	// anonymous, and Cert explains a refused certificate in a 401.
	cfg.ClientAuth = tls.RequestClientCert
	return cfg, pool, nil
}

// LoadCertPool reads PEM certificates from path.
func LoadCertPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA certificates: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("read CA certificates: %s has no PEM certificate", path)
	}
	return pool, nil
}
