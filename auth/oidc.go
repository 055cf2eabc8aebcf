package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/rida-build/rida"
)

// OIDCConfig configures bearer-token authentication.
type OIDCConfig struct {
	// Issuer is the OpenID provider whose discovery document and JWKS sign
	// JWT access tokens; empty accepts only introspected tokens.
	Issuer string
	// Audience must be among a JWT's "aud" (and an introspected token's,
	// when it has one): tokens minted for another service are refused.
	Audience string
	// IntrospectionURL is the RFC 7662 endpoint for opaque tokens (as
	// Fedora's MBS uses), called with ClientID and ClientSecret; empty
	// accepts only JWTs.
	IntrospectionURL       string
	ClientID, ClientSecret string
	// UsernameClaim names the user (default "preferred_username"; an
	// introspection answer's "username" is also read).
	UsernameClaim string
	// GroupsClaim carries the user's groups (default "groups").
	GroupsClaim string
	// RequiredScopes must all be in the token's "scope" (or "scp").
	RequiredScopes []string
	// HTTPClient reaches the issuer; nil uses one with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock token expiry is checked against; nil is time.Now.
	Now func() time.Time
}

// OIDC authenticates "Authorization: Bearer" tokens.
type OIDC struct {
	cfg OIDCConfig

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier // nil until the issuer's discovery succeeded
}

var _ Authenticator = (*OIDC)(nil)

// NewOIDC returns an OIDC authenticator. The issuer is discovered at the
// first token, not here, so the server starts while the issuer is down.
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	if cfg.Issuer == "" && cfg.IntrospectionURL == "" {
		return nil, errors.New("oidc: set an issuer (JWT tokens), an introspection URL (opaque tokens), or both")
	}
	if cfg.Issuer != "" && cfg.Audience == "" {
		return nil, errors.New("oidc: an issuer needs an audience: tokens minted for other services must be refused")
	}
	if cfg.IntrospectionURL != "" && cfg.ClientID == "" {
		return nil, errors.New("oidc: introspection needs a client id (and secret) to authenticate to the endpoint")
	}
	if cfg.UsernameClaim == "" {
		cfg.UsernameClaim = "preferred_username"
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &OIDC{cfg: cfg}, nil
}

// Method implements Authenticator.
func (o *OIDC) Method() string { return "oidc" }

// Challenge implements Authenticator.
func (o *OIDC) Challenge() string { return `Bearer realm="rida"` }

// Authenticate implements Authenticator.
func (o *OIDC) Authenticate(r *http.Request) (*Identity, error) {
	token, ok, err := authCredentials(r.Header.Get("Authorization"), "Bearer")
	if !ok {
		return nil, ErrNoCredentials
	}
	if err != nil {
		return nil, unauthorized(nil, "Invalid bearer token: %v.", err)
	}
	var claims map[string]any
	switch {
	case o.cfg.Issuer != "" && looksLikeJWT(token):
		claims, err = o.verifyJWT(r.Context(), token)
	case o.cfg.IntrospectionURL != "":
		claims, err = o.introspect(r.Context(), token)
	default:
		return nil, unauthorized(nil, "The bearer token is not a JWT, and this server does not introspect opaque tokens.")
	}
	if err != nil {
		return nil, err
	}
	return o.identity(claims)
}

// looksLikeJWT tells a compact JWS (three base64url parts) from an opaque
// token, which goes to introspection instead.
func looksLikeJWT(token string) bool {
	return strings.Count(token, ".") == 2 && !strings.ContainsAny(token, "+/=")
}

func (o *OIDC) verifierFor(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.verifier != nil {
		return o.verifier, nil
	}
	// The provider keeps this context for its key fetches: it must outlive
	// the request that happened to discover it.
	pctx := oidc.ClientContext(context.WithoutCancel(ctx), o.cfg.HTTPClient)
	provider, err := oidc.NewProvider(pctx, o.cfg.Issuer)
	if err != nil {
		return nil, &rida.Error{Code: rida.CodeUnavailable, Message: "The OIDC issuer cannot be reached to check the token; try again later.", Err: fmt.Errorf("discover %s: %w", o.cfg.Issuer, err)}
	}
	o.verifier = provider.Verifier(&oidc.Config{ClientID: o.cfg.Audience, Now: o.cfg.Now})
	return o.verifier, nil
}

func (o *OIDC) verifyJWT(ctx context.Context, token string) (map[string]any, error) {
	v, err := o.verifierFor(ctx)
	if err != nil {
		return nil, err
	}
	idt, err := v.Verify(ctx, token)
	if err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			return nil, unauthorized(err, "The bearer token expired at %s.", expired.Expiry.UTC().Format(time.RFC3339))
		}
		return nil, unauthorized(err, "The bearer token was refused: %s.", strings.TrimPrefix(err.Error(), "oidc: "))
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, unauthorized(err, "The bearer token's claims cannot be read.")
	}
	return claims, nil
}

// maxIntrospectionBytes bounds the introspection endpoint's answer.
const maxIntrospectionBytes = 1 << 20

// introspect asks the RFC 7662 endpoint about an opaque token.
func (o *OIDC) introspect(ctx context.Context, token string) (map[string]any, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.cfg.IntrospectionURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("introspection request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: the client id and secret are form-encoded first.
	req.SetBasicAuth(url.QueryEscape(o.cfg.ClientID), url.QueryEscape(o.cfg.ClientSecret))
	unavailable := func(err error) error {
		return &rida.Error{Code: rida.CodeUnavailable, Message: "The token introspection endpoint cannot be reached to check the token; try again later.", Err: err}
	}
	resp, err := o.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, unavailable(fmt.Errorf("introspect token: %w", err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxIntrospectionBytes))
	if err != nil {
		return nil, unavailable(fmt.Errorf("introspect token: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, unavailable(fmt.Errorf("introspect token: %s: %.200s", resp.Status, data))
	}
	claims, err := parseIntrospection(data)
	if err != nil {
		return nil, unavailable(fmt.Errorf("introspect token: %w", err))
	}
	if active, _ := claims["active"].(bool); !active {
		return nil, unauthorized(nil, "The bearer token is invalid or expired (the issuer says it is not active).")
	}
	if exp, ok := claims["exp"].(float64); ok && o.cfg.Now().After(time.Unix(int64(exp), 0)) {
		return nil, unauthorized(nil, "The bearer token expired at %s.", time.Unix(int64(exp), 0).UTC().Format(time.RFC3339))
	}
	if aud, ok := claims["aud"]; ok && o.cfg.Audience != "" && !slices.Contains(stringsOf(aud), o.cfg.Audience) {
		return nil, unauthorized(nil, "The bearer token is not meant for this service (audience %q, want %q).", strings.Join(stringsOf(aud), " "), o.cfg.Audience)
	}
	if _, ok := claims[o.cfg.UsernameClaim]; !ok {
		// RFC 7662 names the user "username".
		if name, ok := claims["username"]; ok {
			claims[o.cfg.UsernameClaim] = name
		}
	}
	return claims, nil
}

// parseIntrospection reads an RFC 7662 answer: a JSON object whose "active"
// is a boolean.
func parseIntrospection(data []byte) (map[string]any, error) {
	var claims map[string]any
	if err := json.Unmarshal(data, &claims); err != nil {
		return nil, fmt.Errorf("the answer is not a JSON object: %w", err)
	}
	if claims == nil {
		return nil, errors.New("the answer is not a JSON object")
	}
	if _, ok := claims["active"].(bool); !ok {
		return nil, errors.New(`the answer has no boolean "active"`)
	}
	return claims, nil
}

// identity reads the user, scopes and groups of verified claims.
func (o *OIDC) identity(claims map[string]any) (*Identity, error) {
	name, _ := claims[o.cfg.UsernameClaim].(string)
	if name == "" {
		return nil, unauthorized(nil, "The bearer token has no %q claim naming the user.", o.cfg.UsernameClaim)
	}
	scopes := strings.Fields(stringOf(claims["scope"]))
	scopes = append(scopes, stringsOf(claims["scp"])...)
	for _, want := range o.cfg.RequiredScopes {
		if !slices.Contains(scopes, want) {
			return nil, unauthorized(nil, "Required OIDC scope %q not present in the token (it has: %s).", want, strings.Join(scopes, " "))
		}
	}
	return &Identity{Name: name, Groups: stringsOf(claims[o.cfg.GroupsClaim])}, nil
}

func stringOf(v any) string {
	s, _ := v.(string)
	return s
}

// stringsOf reads a claim that is a string or an array of strings; other
// values read as none.
func stringsOf(v any) []string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return nil
		}
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
