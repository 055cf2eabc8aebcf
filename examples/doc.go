// Package examples holds example modules that exercise rida end to end, and
// the tests that keep them working: hello-world/ is a three-package module
// (a modulemd and one spec per component) and make-repos.sh turns it into
// the git repositories rida builds from. The Go package itself is empty; it
// exists so "go test ./..." checks that the modulemd parses, the repositories
// can be made and each spec builds with rpmbuild.
package examples
