package auth_test

import (
	"context"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
	"github.com/rida-build/rida/auth"
)

// fakeLDAP is an LDAP server for tests: it answers binds, and searches with
// a (memberUid=<user>) filter from its member table. It speaks the protocol,
// so the real go-ldap client is what is tested.
type fakeLDAP struct {
	addr string

	mu       sync.Mutex
	members  map[string][]string // user → groups (cn)
	searches []string            // "base filter" of each search
	binds    []string
}

func newFakeLDAP(t *testing.T, members map[string][]string) *fakeLDAP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeLDAP{addr: ln.Addr().String(), members: members}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); f.serve(c) }()
		}
	}()
	return f
}

var memberFilter = regexp.MustCompile(`^\(memberUid=(.*)\)$`)

func (f *fakeLDAP) serve(c net.Conn) {
	defer c.Close()
	for {
		p, err := ber.ReadPacket(c)
		if err != nil || len(p.Children) < 2 {
			return
		}
		id := p.Children[0].Value.(int64)
		op := p.Children[1]
		switch op.Tag {
		case ldap.ApplicationBindRequest:
			f.mu.Lock()
			f.binds = append(f.binds, string(op.Children[1].ByteValue))
			f.mu.Unlock()
			f.reply(c, id, result(ldap.ApplicationBindResponse))
		case ldap.ApplicationSearchRequest:
			base := string(op.Children[0].ByteValue)
			filter, _ := ldap.DecompileFilter(op.Children[6])
			f.mu.Lock()
			f.searches = append(f.searches, base+" "+filter)
			var groups []string
			if m := memberFilter.FindStringSubmatch(filter); m != nil {
				groups = f.members[m[1]]
			}
			f.mu.Unlock()
			for _, g := range groups {
				entry := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultEntry, nil, "entry")
				entry.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "cn="+g+","+base, "dn"))
				attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attributes")
				attr := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attribute")
				attr.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "cn", "type"))
				vals := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "values")
				vals.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, g, "value"))
				attr.AppendChild(vals)
				attrs.AppendChild(attr)
				entry.AppendChild(attrs)
				f.reply(c, id, entry)
			}
			f.reply(c, id, result(ldap.ApplicationSearchResultDone))
		case ldap.ApplicationUnbindRequest:
			return
		}
	}
}

func result(tag ber.Tag) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tag, nil, "result")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(0), "resultCode"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "diagnosticMessage"))
	return op
}

func (f *fakeLDAP) reply(c net.Conn, id int64, op *ber.Packet) {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "message")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "id"))
	p.AppendChild(op)
	_, _ = c.Write(p.Bytes())
}

func (f *fakeLDAP) search(i int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.searches[i]
}

func (f *fakeLDAP) bind(i int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.binds[i]
}

func (f *fakeLDAP) searchCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.searches)
}

// Ensure LDAP groups are searched one level under the groups DN with an
// escaped memberUid filter, cached until the TTL passes, then asked again
// (MBS cached them forever).
func TestLDAP_Groups(t *testing.T) {
	srv := newFakeLDAP(t, map[string][]string{"alice": {"packager", "rida-admins"}, "bob*)(uid=*": {"admins"}})
	clock := now
	l, err := auth.NewLDAP(auth.LDAPConfig{
		URL: "ldap://" + srv.addr, BindDN: "cn=rida,dc=example,dc=org", BindPassword: "pw",
		GroupsDN: "ou=groups,dc=example,dc=org", TTL: time.Minute, Now: func() time.Time { return clock },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	groups, err := l.Groups(ctx, "alice")
	if err != nil || !slices.Equal(groups, []string{"packager", "rida-admins"}) {
		t.Fatalf("Groups(alice) = %v, %v", groups, err)
	}
	if srv.search(0) != "ou=groups,dc=example,dc=org (memberUid=alice)" || srv.bind(0) != "cn=rida,dc=example,dc=org" {
		t.Errorf("search %q after bind %q", srv.search(0), srv.bind(0))
	}
	clock = clock.Add(59 * time.Second)
	if _, err := l.Groups(ctx, "alice"); err != nil || srv.searchCount() != 1 {
		t.Errorf("within the TTL: %v, %d searches, want the cached answer", err, srv.searchCount())
	}
	clock = clock.Add(time.Second)
	if _, err := l.Groups(ctx, "alice"); err != nil || srv.searchCount() != 2 {
		t.Errorf("after the TTL: %v, %d searches, want a new search", err, srv.searchCount())
	}
	// A name with filter syntax is escaped, not injected.
	if groups, err := l.Groups(ctx, "bob*)(uid=*"); err != nil || len(groups) != 0 || !strings.Contains(srv.search(2), `bob\2a\29\28uid=\2a`) {
		t.Errorf("Groups(injection) = %v, %v; search %q", groups, err, srv.search(2))
	}
}

// Ensure an unreachable LDAP server is an error, not "no groups".
func TestLDAP_Down(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	l, err := auth.NewLDAP(auth.LDAPConfig{URL: "ldap://" + addr, GroupsDN: "ou=groups,dc=example,dc=org"})
	if err != nil {
		t.Fatal(err)
	}
	if groups, err := l.Groups(context.Background(), "alice"); err == nil {
		t.Errorf("Groups() = %v, want an error", groups)
	}
}
