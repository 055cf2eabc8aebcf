//go:build !linux

package localbuild

import "syscall"

// dieWithParent has no portable equivalent outside Linux: there an orphaned
// build runs to its end and is ignored (no task record is written).
func dieWithParent(*syscall.SysProcAttr) {}
