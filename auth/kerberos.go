package auth

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"slices"
	"strings"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/service"

	"github.com/rida-build/rida/internal/negotiate"
)

// KerberosConfig configures SPNEGO ("Authorization: Negotiate")
// authentication.
type KerberosConfig struct {
	// Keytab is the path of the service keytab (HTTP/<host>@REALM keys).
	Keytab string
	// Principal is the service principal to use from the keytab
	// ("HTTP/rida.example.org"); empty accepts a ticket for any principal
	// the keytab has a key for.
	Principal string
	// Realms are the users' realms accepted; empty accepts only the
	// realm of the keytab's keys, so alice@OTHER cannot pass for
	// alice@OURS through a cross-realm trust. User names drop the realm.
	Realms []string
}

// Kerberos authenticates SPNEGO tokens carrying a Kerberos AP-REQ for the
// service's keytab. It is one round: the client sends its ticket with the
// request, as curl --negotiate and requests-gssapi do.
type Kerberos struct {
	keytab    *keytab.Keytab
	principal string
	realms    []string
}

var _ Authenticator = (*Kerberos)(nil)

// NewKerberos loads the keytab.
func NewKerberos(cfg KerberosConfig) (*Kerberos, error) {
	kt, err := keytab.Load(cfg.Keytab)
	if err != nil {
		return nil, fmt.Errorf("kerberos: load keytab %s: %w", cfg.Keytab, err)
	}
	realms := slices.Clone(cfg.Realms)
	if len(realms) == 0 {
		for _, e := range kt.Entries {
			if !slices.Contains(realms, e.Principal.Realm) {
				realms = append(realms, e.Principal.Realm)
			}
		}
	}
	if len(realms) == 0 {
		return nil, fmt.Errorf("kerberos: keytab %s has no keys", cfg.Keytab)
	}
	return &Kerberos{keytab: kt, principal: cfg.Principal, realms: realms}, nil
}

// Method implements Authenticator.
func (k *Kerberos) Method() string { return "kerberos" }

// Challenge implements Authenticator.
func (k *Kerberos) Challenge() string { return "Negotiate" }

// Authenticate implements Authenticator.
func (k *Kerberos) Authenticate(r *http.Request) (*Identity, error) {
	cred, ok, err := authCredentials(r.Header.Get("Authorization"), "Negotiate")
	if !ok {
		return nil, ErrNoCredentials
	}
	if err != nil {
		return nil, unauthorized(nil, "Invalid Negotiate token: %v.", err)
	}
	apReq, err := negotiate.APReq(cred)
	if err != nil {
		return nil, unauthorized(err, "Invalid Negotiate token: %v.", err)
	}
	// gokrb5 logs through a *log.Logger; its lines repeat what the error
	// says, so they are dropped.
	settings := []func(*service.Settings){
		service.Logger(log.New(io.Discard, "", 0)),
		// MIT KDCs add a PAC that gokrb5 cannot always verify; rida
		// takes groups from its own sources, not the PAC.
		service.DecodePAC(false),
	}
	if k.principal != "" {
		settings = append(settings, service.KeytabPrincipal(k.principal))
	}
	valid, creds, err := service.VerifyAPREQ(&apReq.APReq, service.NewSettings(k.keytab, settings...))
	if err != nil || !valid {
		return nil, unauthorized(err, "The Kerberos ticket was refused: %s.", kerberosReason(err))
	}
	if !slices.Contains(k.realms, creds.Realm()) {
		return nil, unauthorized(nil, "Kerberos principal %s@%s is from a realm this server does not accept (%s).", creds.UserName(), creds.Realm(), strings.Join(k.realms, ", "))
	}
	return &Identity{Name: creds.UserName()}, nil
}

// kerberosReason is the user's part of a gokrb5 verification error.
func kerberosReason(err error) string {
	if err == nil {
		return "it is not valid"
	}
	msg := err.Error()
	// gokrb5 prefixes layers of context ("... < ... < reason"); the last
	// is the one the user can act on.
	if i := strings.LastIndex(msg, " < "); i >= 0 {
		msg = msg[i+3:]
	}
	return msg
}
