package rida_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rida-build/rida"
)

// Ensure only the owner or an admin may modify a build, and that a context
// without a user (authentication off, in-process callers) is trusted.
func TestCheckOwner(t *testing.T) {
	tests := []struct {
		name string
		user *rida.User
		want rida.ErrorCode
	}{
		{"no user", nil, ""},
		{"owner", &rida.User{Name: "alice"}, ""},
		{"other", &rida.User{Name: "bob", Groups: []string{"packager"}}, rida.CodeForbidden},
		{"admin", &rida.User{Name: "carol", Admin: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.user != nil {
				ctx = rida.NewContextWithUser(ctx, tt.user)
			}
			err := rida.CheckOwner(ctx, "alice", "cancel", 7)
			if got := rida.ErrorCodeOf(err); got != tt.want {
				t.Fatalf("CheckOwner() = %v, want code %q", err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), "You are not owner of this build and therefore cannot modify it: bob may not cancel module build 7, which belongs to alice") {
				t.Errorf("CheckOwner() = %q", err)
			}
		})
	}
	u := &rida.User{Name: "x", Groups: []string{"a", "b"}}
	if !u.InGroup([]string{"c", "b"}) || u.InGroup([]string{"c"}) || u.InGroup(nil) {
		t.Error("InGroup")
	}
}
