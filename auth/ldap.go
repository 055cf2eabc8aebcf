package auth

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAPConfig configures group lookups in LDAP.
type LDAPConfig struct {
	// URL is ldap://host[:port] or ldaps://host[:port].
	URL string
	// BindDN and BindPassword authenticate the lookups; empty binds
	// anonymously.
	BindDN, BindPassword string
	// GroupsDN is where the groups are, searched one level deep (MBS
	// LDAP_GROUPS_DN, e.g. "ou=groups,dc=example,dc=org").
	GroupsDN string
	// Filter selects a user's groups, %s being the escaped user name
	// (default MBS's "(memberUid=%s)").
	Filter string
	// Attribute is the group name (default "cn").
	Attribute string
	// TTL is how long an answer is reused (default 10 minutes): MBS
	// cached group lists forever, so a user removed from a group kept its
	// rights until a restart.
	TTL time.Duration
	// Timeout bounds a lookup (default 10 s).
	Timeout time.Duration
	// Now is the clock of the cache; nil is time.Now.
	Now func() time.Time
}

// LDAP looks up a user's groups, caching each answer for the TTL. It is
// safe for concurrent use.
type LDAP struct {
	cfg LDAPConfig

	mu    sync.Mutex
	cache map[string]ldapEntry
}

type ldapEntry struct {
	groups  []string
	expires time.Time
}

var _ GroupSource = (*LDAP)(nil)

// NewLDAP returns an LDAP group source; it connects at each lookup that
// misses the cache.
func NewLDAP(cfg LDAPConfig) (*LDAP, error) {
	if !strings.HasPrefix(cfg.URL, "ldap://") && !strings.HasPrefix(cfg.URL, "ldaps://") {
		return nil, fmt.Errorf("ldap: want an ldap:// or ldaps:// URL, not %q", cfg.URL)
	}
	if cfg.GroupsDN == "" {
		return nil, fmt.Errorf("ldap: the groups DN must be set")
	}
	if cfg.Filter == "" {
		cfg.Filter = "(memberUid=%s)"
	}
	if strings.Count(cfg.Filter, "%s") != 1 {
		return nil, fmt.Errorf("ldap: the filter must contain %%s once, for the user name: %q", cfg.Filter)
	}
	if cfg.Attribute == "" {
		cfg.Attribute = "cn"
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 10 * time.Minute
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &LDAP{cfg: cfg, cache: map[string]ldapEntry{}}, nil
}

// Groups implements GroupSource. Failures are not cached: the next request
// asks again.
func (l *LDAP) Groups(ctx context.Context, user string) ([]string, error) {
	now := l.cfg.Now()
	l.mu.Lock()
	e, ok := l.cache[user]
	l.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.groups, nil
	}
	groups, err := l.lookup(ctx, user)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for u, e := range l.cache {
		if !now.Before(e.expires) {
			delete(l.cache, u)
		}
	}
	l.cache[user] = ldapEntry{groups: groups, expires: now.Add(l.cfg.TTL)}
	return groups, nil
}

func (l *LDAP) lookup(ctx context.Context, user string) ([]string, error) {
	conn, err := ldap.DialURL(l.cfg.URL, ldap.DialWithDialer(&net.Dialer{Timeout: l.cfg.Timeout}))
	if err != nil {
		return nil, fmt.Errorf("ldap groups of %s: %w", user, err)
	}
	defer conn.Close()
	conn.SetTimeout(l.cfg.Timeout)
	if l.cfg.BindDN != "" {
		if err := conn.Bind(l.cfg.BindDN, l.cfg.BindPassword); err != nil {
			return nil, fmt.Errorf("ldap bind as %s: %w", l.cfg.BindDN, err)
		}
	}
	req := ldap.NewSearchRequest(l.cfg.GroupsDN, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, int(l.cfg.Timeout/time.Second), false,
		fmt.Sprintf(l.cfg.Filter, ldap.EscapeFilter(user)), []string{l.cfg.Attribute}, nil)
	res, err := conn.SearchWithPaging(req, 500)
	if err != nil {
		return nil, fmt.Errorf("ldap groups of %s: %w", user, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	groups := []string{}
	for _, e := range res.Entries {
		groups = append(groups, e.GetAttributeValues(l.cfg.Attribute)...)
	}
	return groups, nil
}
