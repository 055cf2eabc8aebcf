package expand_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/expand"
	"github.com/rida-build/rida/expand/expandtest"
	"github.com/rida-build/rida/modulemd"
)

// FuzzExpand expands any modulemd a packager could submit against a small
// world: it must never panic, and every failure must be a *rida.Error.
func FuzzExpand(f *testing.F) {
	for _, seed := range []string{
		"document: modulemd\nversion: 2\ndata:\n  name: m\n  stream: s\n  summary: s\n  description: d\n  license: {module: [MIT]}\n  dependencies:\n  - buildrequires: {platform: [f28, f29], gtk: []}\n    requires: {platform: [f28, f29]}\n",
		"document: modulemd\nversion: 2\ndata:\n  summary: s\n  description: d\n  license: {module: [MIT]}\n  dependencies:\n  - buildrequires: {platform: [-f27], gtk: [-1]}\n  - buildrequires: {platform: [el8]}\n",
		"document: modulemd\nversion: 1\ndata:\n  summary: s\n  description: d\n  license: {module: [MIT]}\n  dependencies:\n    buildrequires: {platform: f28}\n",
	} {
		f.Add([]byte(seed))
	}
	f28 := expandtest.Platform("f28", 1)
	el8 := expandtest.Platform("el8.1.0", 1, "el8")
	r := expandtest.New(f28, expandtest.Platform("f29", 1), el8,
		expandtest.Module("gtk", "1", 1, "c", f28.NSVC, map[string][]string{"platform": {"f28"}}),
		expandtest.Module("gtk", "2", 1, "c", el8.NSVC, map[string][]string{"platform": {"el8"}, "gtk": {}}),
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := modulemd.ReadStream(data, "fuzz.yaml", modulemd.Options{})
		if err != nil {
			return
		}
		_, err = expand.Expand(context.Background(), s, expand.Options{}, r)
		var re *rida.Error
		if err != nil && !errors.As(err, &re) {
			t.Fatalf("error is not a *rida.Error: %v", err)
		}
	})
}
