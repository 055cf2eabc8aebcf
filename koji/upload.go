package koji

import (
	"context"
	"errors"
	"fmt"
	"hash/adler32"
	"io"
	"math/rand/v2"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/internal/xmlrpc"
)

// DefaultUploadChunkSize is the koji client's upload_blocksize: 1 MiB.
const DefaultUploadChunkSize = 1 << 20

// defaultChunkAttempts is how many times a chunk is sent before Upload
// gives up on it.
const defaultChunkAttempts = 3

// Uploader uploads files to the hub's work directory with Koji's "fast
// upload" (koji.md §1.6 (a)), as the koji client's fastUpload does: raw
// POSTs of the file's chunks, each checked against the size and adler32
// digest the hub answers, then checkUpload for the whole file. The zero
// values of ChunkSize and Attempts mean 1 MiB and 3.
type Uploader struct {
	Client *Client
	// ChunkSize is the size of each POST (the koji client's
	// upload_blocksize).
	ChunkSize int
	// Attempts is how many times one chunk is sent when the hub's answer
	// does not match it (wrong size or digest) or the hub is busy writing
	// it (LockError). Transport failures are retried below that, as for
	// any call.
	Attempts int
}

// Upload uploads r's content as the file name in the directory dir below
// the hub's work directory, with the default chunk size and attempts. See
// [Uploader.Upload].
func (c *Client) Upload(ctx context.Context, dir, name string, r io.Reader) error {
	return (&Uploader{Client: c}).Upload(ctx, dir, name, r)
}

// Upload uploads r's content as <work>/<dir>/<name> on the hub, replacing
// any file there (overwrite=1, as the koji client's uploadWrapper). It
// needs a session. Every chunk (at least one, so an empty file is created
// too) must come back with its size and adler32 digest, and the file must
// then have the full size (and, after a retried chunk, the full digest).
// dir and name follow the hub's rules (see [CheckUploadPath]); CGImport
// reads only the DEFAULT volume, so there is no volume.
func (u *Uploader) Upload(ctx context.Context, dir, name string, r io.Reader) error {
	c := u.Client
	if err := CheckUploadPath(dir, name); err != nil {
		return err
	}
	if !c.LoggedIn() {
		return rida.Errorf(rida.CodeUnauthorized, "koji upload of %s/%s: uploads need a session: log in first", dir, name)
	}
	size := u.ChunkSize
	if size <= 0 {
		size = DefaultUploadChunkSize
	}
	attempts := u.Attempts
	if attempts <= 0 {
		attempts = defaultChunkAttempts
	}
	if l, ok := r.(interface{ Len() int }); ok && l.Len() < size {
		size = l.Len() // a small file in memory: no 1 MiB buffer
	}
	buf := make([]byte, size)
	full := adler32.New()
	var offset int64
	retried := false
	for first := true; ; first = false {
		n, rerr := io.ReadFull(r, buf)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			return fmt.Errorf("koji upload of %s/%s: reading at offset %d: %w", dir, name, offset, rerr)
		}
		if n == 0 && !first {
			break
		}
		chunk := buf[:n]
		full.Write(chunk)
		digest := adler32Hex(adler32.Checksum(chunk))
		for attempt := 1; ; attempt++ {
			err := c.uploadChunk(ctx, dir, name, offset, chunk, digest)
			if err == nil {
				break
			}
			if !chunkRetryable(err) || attempt >= attempts || ctx.Err() != nil {
				return err
			}
			retried = true
			c.log.WarnContext(ctx, "koji upload chunk failed; sending it again", "dir", dir, "name", name, "offset", offset, "attempt", attempt, "err", err)
			if serr := c.sleep(ctx, time.Duration(attempt)*time.Second); serr != nil {
				return err
			}
		}
		offset += int64(n)
		if rerr != nil { // the reader is exhausted
			break
		}
	}
	return c.checkUploaded(ctx, dir, name, offset, retried, adler32Hex(full.Sum32()))
}

// adler32Hex is how Koji writes an adler32 digest: "%08x" of the 32 bits.
func adler32Hex(sum uint32) string { return fmt.Sprintf("%08x", sum) }

// errChunkMismatch marks a chunk the hub acknowledged with another size or
// digest than the one sent: sending it again may help.
var errChunkMismatch = errors.New("the hub's acknowledgement does not match the chunk")

func chunkRetryable(err error) bool {
	return errors.Is(err, errChunkMismatch) || FaultCode(err) == 1001 // LockError: another writer
}

// CheckUploadPath applies the hub's rules for an upload's directory and
// file name (get_upload_path): the name is a plain file name not starting
// with "."; the directory is relative, not empty, does not climb out of
// the work directory and is not under tasks/ (reserved for builders).
func CheckUploadPath(dir, name string) error {
	if name == "" || strings.ContainsRune(name, '/') || strings.HasPrefix(name, ".") || strings.ContainsRune(name, 0) {
		return rida.Errorf(rida.CodeInvalid, "invalid upload file name %q: want a plain name not starting with \".\"", name)
	}
	return checkUploadDir(dir)
}

func checkUploadDir(dir string) error {
	clean := path.Clean(dir)
	if dir == "" || clean == "." || strings.HasPrefix(clean, "..") || path.IsAbs(clean) || strings.ContainsRune(dir, 0) {
		return rida.Errorf(rida.CodeInvalid, "invalid upload directory %q: want a relative path inside the hub's work directory", dir)
	}
	if clean == "tasks" || strings.HasPrefix(clean, "tasks/") {
		return rida.Errorf(rida.CodeInvalid, "invalid upload directory %q: tasks/ is reserved for Koji's builders", dir)
	}
	return nil
}

// UploadDirPrefix is the folder below the hub's work directory that rida's
// imports upload into (the koji CLI uses cli-import, MBS mbs).
const UploadDirPrefix = "rida-import"

// UploadDir returns a fresh upload directory for one import, as the koji
// CLI's unique_path does: "rida-import/<unix time>.<8 random letters>",
// e.g. "rida-import/1795267552.645712.qWzkRtPa". rnd picks the letters (a
// nil rnd uses math/rand/v2's global source).
func UploadDir(now time.Time, rnd *rand.Rand) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var b [8]byte
	for i := range b {
		var n int
		if rnd != nil {
			n = rnd.IntN(len(letters))
		} else {
			n = rand.IntN(len(letters))
		}
		b[i] = letters[n]
	}
	return fmt.Sprintf("%s/%d.%06d.%s", UploadDirPrefix, now.Unix(), now.Nanosecond()/1000, b[:])
}

// uploadQuery is the query string of a fast-upload POST, in the koji
// client's order (its urlencode of filename, filepath, fileverify, offset,
// overwrite): e.g.
// filename=modulemd.txt&filepath=mbs%2F1795267552.6457129.4242&fileverify=adler32&offset=0&overwrite=1.
func uploadQuery(dir, name string, offset int64) string {
	return "filename=" + url.QueryEscape(name) +
		"&filepath=" + url.QueryEscape(dir) +
		"&fileverify=adler32" +
		"&offset=" + strconv.FormatInt(offset, 10) +
		"&overwrite=1"
}

// uploadReply is the hub's answer to a fast-upload POST:
// {size, fileverify, offset, hexdigest} of the chunk written.
type uploadReply struct {
	Size       int64  `xmlrpc:"size"`
	FileVerify string `xmlrpc:"fileverify"`
	Offset     int64  `xmlrpc:"offset"`
	HexDigest  string `xmlrpc:"hexdigest"`
}

// parseUploadReply reads a decoded fast-upload reply.
func parseUploadReply(v any) (uploadReply, error) {
	s, ok := v.(xmlrpc.Struct)
	if !ok {
		return uploadReply{}, fmt.Errorf("want a struct, got %s", describe(v))
	}
	for _, m := range []string{"size", "hexdigest"} {
		if _, ok := s.Get(m); !ok {
			return uploadReply{}, fmt.Errorf("no %s in %s", m, describe(v))
		}
	}
	var r uploadReply
	if err := xmlrpc.Unmarshal(s, &r); err != nil {
		return uploadReply{}, err
	}
	if r.Size < 0 {
		return uploadReply{}, fmt.Errorf("negative size %d", r.Size)
	}
	return r, nil
}

// describe shortens a decoded value for an error message.
func describe(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return fmt.Sprintf("%T %s", v, s)
}

// uploadChunk POSTs one chunk at offset and checks the hub's answer.
func (c *Client) uploadChunk(ctx context.Context, dir, name string, offset int64, chunk []byte, digest string) error {
	op := "rawUpload " + dir + "/" + name
	v, err := c.rawUpload(ctx, op, uploadQuery(dir, name, offset), chunk)
	if FaultCode(err) == FaultAuthExpired {
		if rerr := c.renew(ctx); rerr != nil {
			return errors.Join(err, rerr)
		}
		v, err = c.rawUpload(ctx, op, uploadQuery(dir, name, offset), chunk)
	}
	if err != nil {
		return err
	}
	r, err := parseUploadReply(v)
	if err != nil {
		return rida.Errorf(rida.CodeUnavailable, "koji %s: unexpected reply at offset %d: %v", op, offset, err)
	}
	var msg string
	switch {
	case r.Size != int64(len(chunk)):
		msg = fmt.Sprintf("the hub wrote %d bytes at offset %d, sent %d", r.Size, offset, len(chunk))
	case r.HexDigest != digest:
		msg = fmt.Sprintf("upload checksum failed at offset %d: the hub has adler32 %s, sent %s", offset, r.HexDigest, digest)
	case r.Offset != offset:
		msg = fmt.Sprintf("the hub wrote at offset %d, sent %d", r.Offset, offset)
	default:
		return nil
	}
	return &rida.Error{Code: rida.CodeUnavailable, Message: "koji " + op + ": " + msg, Err: errChunkMismatch}
}

// rawUpload POSTs body as application/octet-stream to <hub>?query with the
// session headers and the next callnum, retrying transport failures under
// that callnum as [Client.Call] does, and decodes the XML-RPC reply.
func (c *Client) rawUpload(ctx context.Context, op, query string, body []byte) (any, error) {
	if !c.LoggedIn() {
		return nil, rida.Errorf(rida.CodeUnauthorized, "koji %s: uploads need a session: log in first", op)
	}
	return c.do(ctx, op, c.url+"?"+query, uploadContent, body, true)
}

// UploadedFile is checkUpload's answer for a file in the work directory.
type UploadedFile struct {
	Size int64 `xmlrpc:"size"`
	// MTime is the modification time in seconds since the epoch.
	MTime float64 `xmlrpc:"mtime"`
	// HexDigest is the digest asked for with verify (empty without).
	HexDigest string `xmlrpc:"hexdigest"`
}

// CheckUpload asks the hub about <work>/<dir>/<name>: nil when there is no
// such file. verify ("adler32", "md5" or "sha256"; "" for none) adds the
// file's digest.
func (c *Client) CheckUpload(ctx context.Context, dir, name, verify string) (*UploadedFile, error) {
	params := []any{dir, name}
	if verify != "" {
		params = append(params, xmlrpc.KwArgs{{Name: "verify", Value: verify}})
	}
	v, err := c.Call(ctx, "checkUpload", params...)
	if err != nil {
		return nil, err
	}
	f, err := parseCheckUpload(v, verify != "")
	if err != nil {
		return nil, rida.Errorf(rida.CodeUnavailable, "koji checkUpload %s/%s: unexpected reply: %v", dir, name, err)
	}
	return f, nil
}

// parseCheckUpload reads checkUpload's reply: nil, or {size, mtime[,
// sumlength, hexdigest]}.
func parseCheckUpload(v any, verify bool) (*UploadedFile, error) {
	if v == nil {
		return nil, nil
	}
	s, ok := v.(xmlrpc.Struct)
	if !ok {
		return nil, fmt.Errorf("want a struct or nil, got %s", describe(v))
	}
	if _, ok := s.Get("size"); !ok {
		return nil, fmt.Errorf("no size in %s", describe(v))
	}
	if _, ok := s.Get("hexdigest"); verify && !ok {
		return nil, fmt.Errorf("no hexdigest in %s", describe(v))
	}
	var f UploadedFile
	if err := xmlrpc.Unmarshal(s, &f); err != nil {
		return nil, err
	}
	if f.Size < 0 {
		return nil, fmt.Errorf("negative size %d", f.Size)
	}
	return &f, nil
}

// checkUploaded is fastUpload's last step: the file must be there with
// the size sent, and after a retried chunk also with the digest sent.
func (c *Client) checkUploaded(ctx context.Context, dir, name string, size int64, retried bool, digest string) error {
	verify := ""
	if retried {
		verify = "adler32"
	}
	f, err := c.CheckUpload(ctx, dir, name, verify)
	switch {
	case err != nil:
		return err
	case f == nil:
		return rida.Errorf(rida.CodeUnavailable, "koji upload of %s/%s failed: the hub has no such file afterwards", dir, name)
	case f.Size != size:
		return rida.Errorf(rida.CodeUnavailable, "koji upload of %s/%s: the uploaded file is %d bytes, sent %d", dir, name, f.Size, size)
	case retried && f.HexDigest != digest:
		return rida.Errorf(rida.CodeUnavailable, "koji upload of %s/%s: the uploaded file has adler32 %s, sent %s", dir, name, f.HexDigest, digest)
	}
	return nil
}
