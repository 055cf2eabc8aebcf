package rida

import (
	"context"
	"slices"
)

// User is an authenticated caller: who they are, how they proved it, the
// groups they belong to, and whether those groups make them an
// administrator.
type User struct {
	// Name is the user name builds are owned by: the Kerberos principal
	// without its realm, the certificate's subject CN, the OIDC username
	// claim.
	Name string
	// Method is how the user authenticated: "oidc", "kerberos" or "cert".
	Method string
	// Groups are the user's groups from every configured source, sorted.
	Groups []string
	// Admin users may cancel and resume anyone's build and import modules
	// (they are in one of the admin groups).
	Admin bool
}

// MayModify reports whether u may cancel or resume a build owned by owner:
// its owner or an administrator.
func (u *User) MayModify(owner string) bool {
	return u.Admin || u.Name == owner
}

// InGroup reports whether u is in one of groups.
func (u *User) InGroup(groups []string) bool {
	for _, g := range groups {
		if slices.Contains(u.Groups, g) {
			return true
		}
	}
	return false
}

type userKey struct{}

// NewContextWithUser returns ctx carrying the authenticated user. Services
// that enforce ownership (cancel, resume) read it back with UserFromContext.
func NewContextWithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFromContext returns the authenticated user of ctx, or nil when the
// caller is trusted without authentication: a server with authentication
// off (MBS's NO_AUTH) or an in-process caller such as build-local. With
// authentication on, the HTTP server refuses a write before it reaches the
// service unless a user is set, so nil never means "anyone" there.
func UserFromContext(ctx context.Context) *User {
	u, _ := ctx.Value(userKey{}).(*User)
	return u
}

// CheckOwner returns nil when ctx's user may cancel or resume (action) a
// build owned by owner, or when ctx has no user (see UserFromContext); else
// a forbidden error that starts with MBS's message and names the user, the
// owner and who may.
func CheckOwner(ctx context.Context, owner, action string, id int64) error {
	u := UserFromContext(ctx)
	if u == nil || u.MayModify(owner) {
		return nil
	}
	return Errorf(CodeForbidden, "You are not owner of this build and therefore cannot modify it: %s may not %s module build %d, which belongs to %s; only its owner or a member of an admin group may.",
		u.Name, action, id, owner)
}

// Action is what a caller asks to do, for authorization.
type Action string

// Actions the HTTP API authorizes. Resuming is a submission; whether the
// submitter may resume a given failed build is the ownership check.
const (
	ActionRead   Action = "read"
	ActionSubmit Action = "submit"
	ActionCancel Action = "cancel"
	ActionImport Action = "import"
)

// Verb is the action as said in messages ("submit module builds").
func (a Action) Verb() string {
	switch a {
	case ActionRead:
		return "read"
	case ActionSubmit:
		return "submit module builds"
	case ActionCancel:
		return "cancel module builds"
	case ActionImport:
		return "import modules"
	}
	return string(a)
}
