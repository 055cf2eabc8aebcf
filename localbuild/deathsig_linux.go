package localbuild

import "syscall"

// dieWithParent makes the kernel kill a started program when rida dies
// (kill -9 included), so a build does not outlive the process that would
// have recorded it: the next process builds the component again anyway.
// Only the program itself gets the signal; its own children are left to
// end with it (they are in its process group, which cancel kills).
func dieWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
