package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/rida-build/rida"
)

// ErrNoCredentials is what an Authenticator answers for a request that
// carries none of its kind of credentials, so the Guard tries the next one.
var ErrNoCredentials = errors.New("no credentials of this kind")

// Identity is who an Authenticator found: the user name and any groups the
// credentials themselves carry (an OIDC groups claim).
type Identity struct {
	Name   string
	Groups []string
}

// Authenticator checks one kind of credentials.
type Authenticator interface {
	// Method names the kind: "oidc", "kerberos", "cert".
	Method() string
	// Authenticate returns the identity r's credentials prove;
	// ErrNoCredentials when r has none of this kind; otherwise an error
	// with code unauthorized saying why the credentials are refused (or
	// unavailable when the issuer cannot be reached).
	Authenticate(r *http.Request) (*Identity, error)
	// Challenge is the WWW-Authenticate value that asks for this kind.
	Challenge() string
}

// GroupSource tells the groups of a user.
type GroupSource interface {
	// Groups returns user's groups (none is not an error); an error means
	// the source could not answer.
	Groups(ctx context.Context, user string) ([]string, error)
}

// Policy turns groups into rights.
type Policy struct {
	// AllowedGroups may submit builds, and cancel their own; empty lets
	// every authenticated user (MBS: an empty ALLOWED_GROUPS).
	AllowedGroups []string
	// AdminGroups may also cancel and resume anyone's build and import
	// modules.
	AdminGroups []string
	// AnonymousReads lets requests without credentials read (GET).
	AnonymousReads bool
}

// Guard authenticates requests with the configured authenticators, gathers
// the user's groups and authorizes actions with the Policy. It is safe for
// concurrent use.
type Guard struct {
	authenticators []Authenticator
	groups         []GroupSource
	policy         Policy
}

// NewGuard returns a Guard trying authenticators in order; groups are the
// sources besides the credentials' own claims.
func NewGuard(authenticators []Authenticator, groups []GroupSource, policy Policy) *Guard {
	return &Guard{authenticators: authenticators, groups: groups, policy: policy}
}

// Methods returns the enabled methods, comma-separated, as GET about/
// reports them.
func (g *Guard) Methods() string {
	names := make([]string, len(g.authenticators))
	for i, a := range g.authenticators {
		names[i] = a.Method()
	}
	return strings.Join(names, ",")
}

// Challenges returns the WWW-Authenticate values of a 401, one per method.
func (g *Guard) Challenges() []string {
	out := make([]string, 0, len(g.authenticators))
	for _, a := range g.authenticators {
		out = append(out, a.Challenge())
	}
	return out
}

// Authenticate returns the user r's credentials prove, with their groups and
// role; nil and no error when r carries no credentials at all; an
// unauthorized error when the credentials it carries are refused. The first
// authenticator that finds credentials of its kind decides.
func (g *Guard) Authenticate(r *http.Request) (*rida.User, error) {
	for _, a := range g.authenticators {
		id, err := a.Authenticate(r)
		if errors.Is(err, ErrNoCredentials) {
			continue
		}
		if err != nil {
			return nil, err
		}
		groups := slices.Clone(id.Groups)
		for _, src := range g.groups {
			more, err := src.Groups(r.Context(), id.Name)
			if err != nil {
				return nil, &rida.Error{Code: rida.CodeUnavailable, Message: fmt.Sprintf("Cannot determine the groups of %s; try again later.", id.Name), Err: err}
			}
			groups = append(groups, more...)
		}
		slices.Sort(groups)
		groups = slices.Compact(groups)
		u := &rida.User{Name: id.Name, Method: a.Method(), Groups: groups}
		u.Admin = u.InGroup(g.policy.AdminGroups)
		return u, nil
	}
	return nil, nil
}

// Authorize says whether u (nil: no credentials) may do action; the error
// is unauthorized when credentials are needed and forbidden when u lacks a
// group, naming the groups that would do.
func (g *Guard) Authorize(u *rida.User, action rida.Action) error {
	if u == nil {
		if action == rida.ActionRead && g.policy.AnonymousReads {
			return nil
		}
		return rida.Errorf(rida.CodeUnauthorized, "Authentication is required to %s: send credentials (%s).", action.Verb(), g.Methods())
	}
	switch action {
	case rida.ActionRead:
		return nil
	case rida.ActionSubmit, rida.ActionCancel:
		if u.Admin || len(g.policy.AllowedGroups) == 0 || u.InGroup(g.policy.AllowedGroups) {
			return nil
		}
		return rida.Errorf(rida.CodeForbidden, "%s is not in any of the groups allowed to %s (%s); their groups: %s.",
			u.Name, action.Verb(), strings.Join(g.policy.AllowedGroups, ", "), groupList(u.Groups))
	case rida.ActionImport:
		if u.Admin {
			return nil
		}
		if len(g.policy.AdminGroups) == 0 {
			return rida.Errorf(rida.CodeForbidden, "%s may not %s: only members of an admin group may, and this server has none configured (auth.admin_groups).", u.Name, action.Verb())
		}
		return rida.Errorf(rida.CodeForbidden, "%s is not in any of the admin groups allowed to %s (%s); their groups: %s.",
			u.Name, action.Verb(), strings.Join(g.policy.AdminGroups, ", "), groupList(u.Groups))
	}
	panic(fmt.Sprintf("auth: unknown action %q", action))
}

func groupList(groups []string) string {
	if len(groups) == 0 {
		return "none"
	}
	return strings.Join(groups, ", ")
}

// unauthorized is the error of refused credentials: the message is for the
// user, the cause for the log.
func unauthorized(cause error, format string, args ...any) error {
	return &rida.Error{Code: rida.CodeUnauthorized, Message: fmt.Sprintf(format, args...), Err: cause}
}
