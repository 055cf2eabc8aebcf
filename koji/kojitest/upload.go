package kojitest

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/adler32"
	"net/http"
	"path"
	"strings"

	"github.com/rida-build/rida/internal/xmlrpc"
)

// verifier is get_verify_class: md5, adler32 or sha256.
func verifier(v any) (func() hash.Hash, *hubErr) {
	switch v {
	case "md5":
		return md5.New, nil
	case "sha256":
		return sha256.New, nil
	case "adler32":
		return func() hash.Hash { return adler32.New() }, nil
	}
	if truthy(v) {
		return nil, genericErr("Unsupported verify type: %s", pyStr(v))
	}
	return nil, pyErr("TypeError", "'NoneType' object is not callable", "'NoneType' object is not callable")
}

func hexDigest(newHash func() hash.Hash, data []byte) string {
	hh := newHash()
	hh.Write(data)
	if a, ok := hh.(interface{ Sum32() uint32 }); ok {
		return fmt.Sprintf("%08x", a.Sum32())
	}
	return hex.EncodeToString(hh.Sum(nil))
}

// pyNormpath is os.path.normpath ("" is ".", an absolute path stays so).
func pyNormpath(p string) string {
	if p == "" {
		return "."
	}
	return path.Clean(p)
}

// joinSegment is koji.util.joinpath's check of one path segment.
func joinSegment(seg string) (string, *hubErr) {
	p := pyNormpath(seg)
	if p == ".." || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/") {
		msg := "Invalid path segment: " + seg
		return "", pyErr("ValueError", msg, msg)
	}
	return p, nil
}

// uploadPath is get_upload_path: the checks on the directory and name of
// an upload; it returns the key of the file below work/ and its absolute
// path on the hub. With create, the first uploader owns the directory.
func (c *call) uploadPath(reldirV, nameV any, create bool) (key, abs string, err *hubErr) {
	name, reldir := pyStr(nameV), pyStr(reldirV)
	if strings.Contains(name, "/") || strings.HasPrefix(name, ".") {
		return "", "", genericErr("Invalid upload filename: %s", name)
	}
	dir := pyNormpath(reldir)
	if strings.HasPrefix(dir, "..") {
		return "", "", genericErr("Invalid upload directory: %s", reldir)
	}
	if create && strings.HasPrefix(dir+"/", "tasks/") {
		if len(strings.Split(dir, "/")) < 3 {
			return "", "", genericErr("Invalid task upload directory: %s", reldir)
		}
		return "", "", authErr("No host specified")
	}
	if _, err := joinSegment(dir); err != nil {
		return "", "", err
	}
	if create {
		if owner, ok := c.h.uploadDirs[dir]; ok && owner != c.user().id {
			return "", "", genericErr("Invalid upload directory, not owner: %s", reldir)
		}
		c.h.uploadDirs[dir] = c.user().id
	}
	key = path.Join(dir, name)
	return key, c.h.topDir + "/work/" + key, nil
}

// writeAt writes data into b at off, growing it with zeros as a file
// would.
func writeAt(b []byte, off int, data []byte) []byte {
	if need := off + len(data); need > len(b) {
		b = append(b, make([]byte, need-len(b))...)
	}
	copy(b[off:], data)
	return b
}

// serveUpload answers a fast upload (a POST of application/octet-stream).
func (h *FakeHub) serveUpload(w http.ResponseWriter, r *http.Request, body []byte) {
	rec := Call{Header: r.Header.Clone(), Path: r.URL.Path, Query: r.URL.RawQuery}
	if q, err := parseQS(r.URL.RawQuery); err == nil && len(q["filename"]) > 0 {
		dir := ""
		if len(q["filepath"]) > 0 {
			dir = q["filepath"][0]
		}
		rec.Upload = path.Join(dir, q["filename"][0])
	}
	h.calls = append(h.calls, rec)
	idx := len(h.calls) - 1
	c := &call{h: h, rec: idx}
	var v any
	_, herr := h.checkSession(c, r, "")
	if herr == nil {
		v, herr = c.fastUpload(r.URL.RawQuery, body)
	}
	if herr != nil {
		h.calls[idx].Fault = &xmlrpc.Fault{Code: herr.code, String: herr.faultString()}
	}
	xmlReply(w, v, herr)
}

// fastUpload is handle_upload.
func (c *call) fastUpload(query string, body []byte) (any, *hubErr) {
	if c.user() == nil {
		return nil, notAllowed("you must be logged-in to upload a file")
	}
	args, herr := parseQS(query)
	if herr != nil {
		return nil, herr
	}
	arg := func(k, def string) string {
		if v, ok := args[k]; ok {
			return v[0]
		}
		return def
	}
	if _, ok := args["filename"]; !ok {
		return nil, keyErr("filename")
	}
	name, dir, verify, overwrite := arg("filename", ""), arg("filepath", ""), arg("fileverify", ""), arg("overwrite", "")
	offset, herr := pyIntLiteral(arg("offset", "0"))
	if herr != nil {
		return nil, herr
	}
	if vol := arg("volume", "DEFAULT"); vol != "DEFAULT" {
		return nil, genericErr("No such entry in table volume: %s", vol)
	}
	key, abs, herr := c.uploadPath(dir, name, true)
	if herr != nil {
		return nil, herr
	}
	f, exists := c.h.uploads[key]
	if exists && offset == 0 && overwrite == "" {
		return nil, genericErr("upload path exists: %s", abs)
	}
	newHash, herr := verifier(verify)
	if herr != nil {
		return nil, herr
	}
	if !exists {
		f = &upload{}
		c.h.uploads[key] = f
	}
	switch {
	case offset == -1:
		offset = int64(len(f.data))
		f.data = append(f.data, body...)
	case overwrite != "":
		f.data = writeAt(f.data[:min(int(offset), len(f.data))], int(offset), body)
	default:
		f.data = writeAt(f.data, int(offset), body)
		if want := int(offset) + len(body); len(f.data) != want {
			return nil, genericErr("Incorrect upload length for %s - Expected %d, actual %d", abs, want, len(f.data))
		}
	}
	f.mtime = c.h.clock()
	return ordered("size", int64(len(body)), "fileverify", verify, "offset", offset, "hexdigest", hexDigest(newHash, body)), nil
}

// pyB64decode is base64.b64decode without validation: characters outside
// the alphabet are dropped, padding must be right.
func pyB64decode(s string) ([]byte, *hubErr) {
	var b strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '/' || r == '=' {
			b.WriteRune(r)
		}
	}
	out, err := base64.StdEncoding.DecodeString(b.String())
	if err != nil {
		return nil, pyErr("binascii.Error", "Incorrect padding", "Incorrect padding")
	}
	return out, nil
}

// decodeInt is koji.decode_int: an int, or a string of one.
func decodeInt(v any) (int64, *hubErr) {
	if n, ok := isInt(v); ok {
		return n, nil
	}
	if s, ok := v.(string); ok {
		return pyIntLiteral(s)
	}
	if v == nil {
		return 0, nil
	}
	msg := "int() argument must be a string, a bytes-like object or a real number, not '" + pyTypeName(v) + "'"
	return 0, pyErr("TypeError", msg, msg)
}

func (h *FakeHub) registerUploads() {
	h.def("RootExports.uploadFile(path, name, size, md5sum, offset, data, volume=None, checksum=None)", "uploadFile", func(c *call, a args) (any, *hubErr) {
		if err := c.assertLogin(); err != nil {
			return nil, err
		}
		data, ok := a.get("data").(string)
		if !ok {
			return nil, pyErr("TypeError", "argument should be a bytes-like object or ASCII string, not '"+pyTypeName(a.get("data"))+"'", "")
		}
		contents, err := pyB64decode(data)
		if err != nil {
			return nil, err
		}
		offset, err := decodeInt(a.get("offset"))
		if err != nil {
			return nil, err
		}
		var size *int64
		if a.get("size") != nil {
			n, err := decodeInt(a.get("size"))
			if err != nil {
				return nil, err
			}
			size = &n
		}
		sum := a.get("checksum")
		if sum == nil && a.get("md5sum") != nil {
			sum = a.get("md5sum")
		}
		var verify any
		digest := ""
		switch s := sum.(type) {
		case nil:
		case string:
			verify, digest = "md5", s
		case []any:
			if len(s) != 2 {
				msg := "too many values to unpack (expected 2)"
				return nil, pyErr("ValueError", msg, msg)
			}
			verify, digest = s[0], pyStr(s[1])
		}
		var newHash func() hash.Hash
		if verify != nil {
			if newHash, err = verifier(verify); err != nil {
				return nil, err
			}
		}
		if offset != -1 {
			if size != nil && *size != int64(len(contents)) {
				return false, nil
			}
			if newHash != nil && digest != hexDigest(newHash, contents) {
				return false, nil
			}
		}
		key, abs, err := c.uploadPath(a.get("path"), a.get("name"), true)
		if err != nil {
			return nil, err
		}
		f, exists := c.h.uploads[key]
		if exists && offset == 0 && !strings.HasSuffix(abs, ".log") {
			return nil, genericErr("file already exists: %s", abs)
		}
		if !exists {
			f = &upload{}
			c.h.uploads[key] = f
		}
		if offset == 0 || (offset == -1 && size != nil && *size == int64(len(contents))) {
			f.data = f.data[:0]
		}
		if offset == -1 {
			f.data = append(f.data, contents...)
		} else {
			f.data = writeAt(f.data, int(offset), contents)
		}
		f.mtime = c.h.clock()
		if offset == -1 {
			if size != nil {
				if int(*size) <= len(f.data) {
					f.data = f.data[:*size]
				} else {
					f.data = writeAt(f.data, int(*size)-1, []byte{0})
				}
			}
			if newHash != nil && digest != hexDigest(newHash, f.data) {
				return false, nil
			}
		}
		return true, nil
	})
	h.def("RootExports.checkUpload(path, name, verify=None, tail=None, volume=None)", "checkUpload", func(c *call, a args) (any, *hubErr) {
		key, _, err := c.uploadPath(a.get("path"), a.get("name"), false)
		if err != nil {
			return nil, err
		}
		f, ok := c.h.uploads[key]
		if !ok {
			return nil, nil
		}
		out := ordered("size", int64(len(f.data)), "mtime", pyTS(&f.mtime))
		if v := a.get("verify"); truthy(v) {
			newHash, err := verifier(v)
			if err != nil {
				return nil, err
			}
			data := f.data
			if t := a.get("tail"); t != nil {
				n, err := toInt(t)
				if err != nil {
					return nil, err
				}
				if n < 0 {
					return nil, genericErr("Invalid tail value: %s", pyRepr(t))
				}
				data = data[max(len(data)-int(n), 0):]
			}
			out = append(out, xmlrpc.Member{Name: "sumlength", Value: int64(len(data))},
				xmlrpc.Member{Name: "hexdigest", Value: hexDigest(newHash, data)})
		}
		return out, nil
	})
}

// Upload returns an uploaded file by its path below the work directory
// ("mbs/1795267552.6457129.4242/modulemd.txt").
func (h *FakeHub) Upload(p string) ([]byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.uploads[path.Clean(p)]
	if !ok {
		return nil, false
	}
	return append([]byte(nil), f.data...), true
}

// PutUpload stores a file below the work directory as if a user had
// uploaded it.
func (h *FakeHub) PutUpload(p string, data []byte, user string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p = path.Clean(p)
	h.uploads[p] = &upload{data: append([]byte(nil), data...), mtime: h.clock()}
	if u := h.userByName[user]; u != nil {
		h.uploadDirs[path.Dir(p)] = u.id
	}
}
