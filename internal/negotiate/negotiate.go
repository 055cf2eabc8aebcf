// Package negotiate decodes the token of an HTTP "Authorization: Negotiate"
// header (RFC 4559) into the Kerberos AP-REQ it carries: what rida's SPNEGO
// authenticator and the fake Koji hub's GSSAPI login both verify against a
// service keytab.
package negotiate

import (
	"encoding/base64"
	"errors"
	"slices"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

// APReq decodes a Negotiate token: an SPNEGO NegTokenInit offering
// Kerberos, or the raw Kerberos GSS token some clients send. Its errors
// say what the token is not, for the caller's refusal.
func APReq(token string) (*spnego.KRB5Token, error) {
	b, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return nil, errors.New("not base64")
	}
	mech := b
	var st spnego.SPNEGOToken
	if st.Unmarshal(b) == nil {
		if !st.Init {
			return nil, errors.New("not an SPNEGO NegTokenInit")
		}
		if !slices.ContainsFunc(st.NegTokenInit.MechTypes, func(oid asn1.ObjectIdentifier) bool {
			return oid.Equal(gssapi.OIDKRB5.OID()) || oid.Equal(gssapi.OIDMSLegacyKRB5.OID())
		}) {
			return nil, errors.New("it offers no Kerberos mechanism")
		}
		mech = st.NegTokenInit.MechTokenBytes
	}
	var tok spnego.KRB5Token
	if err := tok.Unmarshal(mech); err != nil {
		return nil, errors.New("not a Kerberos token")
	}
	if !tok.IsAPReq() {
		return nil, errors.New("not a Kerberos AP-REQ")
	}
	return &tok, nil
}
