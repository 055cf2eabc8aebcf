package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rida-build/rida"
)

// maxTreeListing caps git ls-tree's output for one export: a component
// repository with more than this much of file names is not a component.
const maxTreeListing = 16 << 20

// Export writes the tree of commit (a full hash) of repoURL into dir, which
// is created when missing and must be empty: every file as committed
// (content, the executable bit, symbolic links), as a checkout would have
// it, without .git and without applying any .gitattributes (no
// export-subst, export-ignore, end-of-line conversion or filter), which
// git archive would. A submodule (gitlink) becomes an empty directory, as in
// a clone without --recurse-submodules. It is how a component's sources
// reach a local build.
//
// Files are written through an os.Root on dir, so a committed symbolic link
// can never make a later file land outside dir. The commit is fetched into
// the cache as ReadFile does (depth 1), and the whole tree is refused with
// CodeUnprocessable and ErrTooLarge when its files add up to more than
// MaxFetchBytes. Errors are classified as for ReadFile; on error dir may
// hold part of the tree.
func (c *Client) Export(ctx context.Context, repoURL, commit, dir string) error {
	repo, err := c.checkURL(repoURL)
	if err != nil {
		return err
	}
	commit, err = checkCommit(commit)
	if err != nil {
		return err
	}
	if dir == "" {
		return &rida.Error{Code: rida.CodeInvalid, Message: "export: no destination directory given"}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("git: export %s: %w", repo, err)
	}
	if entries, err := os.ReadDir(dir); err != nil {
		return fmt.Errorf("git: export %s: %w", repo, err)
	} else if len(entries) > 0 {
		return fmt.Errorf("git: export %s: the destination %s is not empty", repo, dir)
	}
	unlock, err := c.lock(ctx, repo)
	if err != nil {
		return err
	}
	defer unlock()
	if err := c.ensureCommit(ctx, repo, commit); err != nil {
		return err
	}
	gitDir := c.repoDir(repo)

	listing := &capWriter{max: maxTreeListing}
	stderr, err := c.run(ctx, gitDir, nil, listing, "ls-tree", "-r", "-z", "-l", "--full-tree", "--end-of-options", commit)
	if err != nil {
		return c.localError("list the files of "+commit+" in", repo, stderr, err)
	}
	if listing.over {
		return &rida.Error{Code: rida.CodeUnprocessable, Message: fmt.Sprintf("The tree of %s in %s lists more than %d bytes of file names", commit, repo, maxTreeListing), Err: ErrTooLarge}
	}
	entries, err := parseTree(listing.buf.Bytes())
	if err != nil {
		return fmt.Errorf("git: export %s at %s: %w", repo, commit, err)
	}
	var total int64
	for _, e := range entries {
		total += e.size
	}
	if total > c.maxFetch {
		return &rida.Error{
			Code:    rida.CodeUnprocessable,
			Message: fmt.Sprintf("The files of %s in %s add up to %d bytes, over the limit of %d", commit, repo, total, c.maxFetch),
			Err:     ErrTooLarge,
		}
	}

	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("git: export %s: %w", repo, err)
	}
	defer root.Close()
	for _, e := range entries {
		if err := c.exportEntry(ctx, root, gitDir, repo, e); err != nil {
			return err
		}
	}
	return nil
}

// treeEntry is one line of git ls-tree -r -l.
type treeEntry struct {
	mode, kind, oid, path string
	size                  int64 // 0 for a gitlink
}

// parseTree reads git ls-tree -r -z -l output: "<mode> <type> <oid>
// <size>\t<path>" entries separated by NUL, the size padded with spaces and
// "-" for a gitlink. Paths that are not clean relative paths, or that hold
// a .git component, are refused: git's own fsck rules forbid them, but the
// cached objects come from any server.
func parseTree(out []byte) ([]treeEntry, error) {
	var entries []treeEntry
	for rec := range bytes.SplitSeq(out, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		meta, p, ok := strings.Cut(string(rec), "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 4 {
			return nil, fmt.Errorf("unexpected ls-tree entry %q", rec)
		}
		e := treeEntry{mode: f[0], kind: f[1], oid: f[2], path: p}
		if !fullHashRe.MatchString(e.oid) {
			return nil, fmt.Errorf("unexpected object id in ls-tree entry %q", rec)
		}
		if f[3] != "-" {
			n, err := strconv.ParseInt(f[3], 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("unexpected size in ls-tree entry %q", rec)
			}
			e.size = n
		}
		if p == "" || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") || !filepath.IsLocal(p) {
			return nil, fmt.Errorf("the tree holds the unsafe path %q", p)
		}
		for part := range strings.SplitSeq(p, "/") {
			if strings.EqualFold(part, ".git") {
				return nil, fmt.Errorf("the tree holds the unsafe path %q", p)
			}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// exportEntry writes one tree entry under root.
func (c *Client) exportEntry(ctx context.Context, root *os.Root, gitDir, repo string, e treeEntry) error {
	name := filepath.FromSlash(e.path)
	fail := func(err error) error { return fmt.Errorf("git: export %s from %s: %w", e.path, repo, err) }
	if parent := filepath.Dir(name); parent != "." {
		if err := root.MkdirAll(parent, 0o755); err != nil {
			return fail(err)
		}
	}
	switch {
	case e.kind == "commit" && e.mode == "160000":
		if err := root.MkdirAll(name, 0o755); err != nil {
			return fail(err)
		}
		return nil
	case e.kind == "blob" && e.mode == "120000":
		target := &capWriter{max: 4096}
		if stderr, err := c.run(ctx, gitDir, nil, target, "cat-file", "blob", "--end-of-options", e.oid); err != nil {
			return c.localError("read "+e.path+" in", repo, stderr, err)
		}
		if target.over || bytes.IndexByte(target.buf.Bytes(), 0) >= 0 {
			return fail(errors.New("symbolic link target is too long or holds NUL"))
		}
		if !linkInside(e.path, target.buf.String()) {
			return fail(fmt.Errorf("symbolic link to %q points outside the repository", target.buf.String()))
		}
		if err := root.Symlink(target.buf.String(), name); err != nil {
			return fail(err)
		}
		return nil
	case e.kind == "blob" && (e.mode == "100644" || e.mode == "100755" || e.mode == "100664"):
		perm := os.FileMode(0o644)
		if e.mode == "100755" {
			perm = 0o755
		}
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if err != nil {
			return fail(err)
		}
		stderr, runErr := c.run(ctx, gitDir, nil, f, "cat-file", "blob", "--end-of-options", e.oid)
		closeErr := f.Close()
		if runErr != nil {
			return c.localError("read "+e.path+" in", repo, stderr, runErr)
		}
		if closeErr != nil {
			return fail(closeErr)
		}
		return nil
	}
	return fail(fmt.Errorf("unsupported tree entry of mode %s and type %s", e.mode, e.kind))
}

// linkInside reports whether a symbolic link at linkPath (slash-separated,
// relative to the tree's root) with the given target stays inside the tree.
// The rule is lexical and so must not be fooled by other links: the target
// is relative, ".." may only lead it (the link's own directory is a real
// directory, so leading ".." are resolved as written), and the result stays
// under the root. Every link passing the rule points inside the tree, so a
// path through several of them does too.
func linkInside(linkPath, target string) bool {
	if target == "" || path.IsAbs(target) {
		return false
	}
	leading := true
	for part := range strings.SplitSeq(target, "/") {
		if part == ".." {
			if !leading {
				return false
			}
			continue
		}
		leading = false
	}
	joined := path.Join(path.Dir(linkPath), target)
	return joined != ".." && !strings.HasPrefix(joined, "../")
}
