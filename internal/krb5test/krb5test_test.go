package krb5test_test

import (
	"os"
	"testing"

	"github.com/rida-build/rida/internal/krb5test"
)

// Ensure a KDC starts, makes principals and keytabs, and logs a user in.
func TestStart(t *testing.T) {
	kdc := krb5test.Start(t)
	kdc.AddUser(t, "alice", "alice-pw")
	kt := kdc.AddService(t, "HTTP/localhost")
	for _, p := range []string{kt, kdc.Kinit(t, "alice", "alice-pw"), kdc.ConfigPath} {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v (size %v)", p, err, st)
		}
	}
}
