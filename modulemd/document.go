package modulemd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Options control parsing.
type Options struct {
	// Strict rejects unknown keys, like modulemd-validator and MBS do.
	// The default (lenient) skips them, like DNF.
	Strict bool
}

// Document is one YAML document of a modulemd file, parsed on its own.
// Exactly one of the object fields is set when the header was understood.
type Document struct {
	// Index is the 0-based position of the document in the file.
	Index int
	// Type is the `document:` value ("modulemd", "modulemd-defaults", ...;
	// the alias "modulemd-stream" is reported as "modulemd") and Version the
	// metadata version; both are zero when the header was not understood.
	Type    string
	Version uint64
	// Line and Column locate the document's root node in the file.
	Line, Column int

	// Stream is set for modulemd v1/v2 and modulemd-packager v2 documents.
	Stream      *Stream
	Defaults    *Defaults
	Obsoletes   *Obsoletes
	Translation *Translation
	PackagerV3  *PackagerV3

	// Err holds the parse and validation errors of this document (an
	// ErrorList), nil when it is valid.
	Err error
}

// ReadDocuments parses every document of data (a YAML stream) on its own,
// without merging them into an index. name is used in error positions. The
// error result is reserved for problems that stop reading altogether (YAML
// syntax errors); the documents read before such an error are returned too.
func ReadDocuments(data []byte, name string, opts Options) ([]*Document, error) {
	if docs, ok := readChunked(data, name, opts); ok {
		return docs, nil
	}
	return readSequential(data, name, opts, 0, 0)
}

// readSequential decodes documents one by one with a single yaml decoder.
func readSequential(data []byte, name string, opts Options, firstDoc, lineOff int) ([]*Document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*Document
	for i := firstDoc; ; i++ {
		var n yaml.Node
		err := decodeSafe(dec, &n)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return docs, syntaxError(err, name, lineOff)
		}
		docs = append(docs, parseDocument(&n, name, i, opts, lineOff))
	}
}

// decodeSafe turns a panic inside the YAML library into an error: the
// parser must never crash on user input.
func decodeSafe(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: internal error: %v", r)
		}
	}()
	return dec.Decode(n)
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError converts a YAML library error into an *Error with a position.
// go-yaml reports only a line; the column is then 1.
func syntaxError(err error, name string, lineOff int) *Error {
	msg := err.Error()
	line := 1
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		if l, e := strconv.Atoi(m[1]); e == nil {
			line = l
		}
		msg = m[2]
	} else if len(msg) > 6 && msg[:6] == "yaml: " {
		msg = msg[6:]
	}
	return &Error{File: name, Line: line + lineOff, Column: 1, Document: -1, Message: "YAML parser error: " + msg}
}

// parseDocument interprets one decoded YAML document.
func parseDocument(n *yaml.Node, name string, index int, opts Options, lineOff int) *Document {
	d := &Document{Index: index}
	p := &parser{file: name, doc: index, strict: opts.Strict, lineOff: lineOff}
	root := n
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		root = n.Content[0]
	}
	d.Line, d.Column = root.Line+lineOff, root.Column
	if root.Kind != yaml.MappingNode {
		p.failAt(root, "Document did not start with a mapping")
		d.Err = p.errs.err()
		return d
	}
	var typ string
	var typNode, verNode, data *yaml.Node
	var version uint64
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.failAt(k, "Mapping key was not a scalar")
			continue
		}
		p.push(k.Value)
		switch k.Value {
		case "document":
			if typNode != nil {
				p.failAt(k, "Document type encountered twice.")
			}
			typNode = v
			typ = p.str(v)
		case "version":
			if verNode != nil {
				p.failAt(k, "Metadata version encountered twice.")
			}
			verNode = v
			version = p.uint(v, "metadata version")
		case "data":
			data = v
		default:
			// libmodulemd checks only the keys before `data:`; every
			// unknown root key is reported here, wherever it is.
			if opts.Strict {
				p.failAt(k, "Unexpected key in root: %s", k.Value)
			}
		}
		p.pop()
	}
	if typ == "modulemd-stream" {
		typ = DocModulemd
	}
	switch {
	case typNode == nil:
		p.failAt(root, "No document type specified")
	case verNode == nil || version == 0 && len(p.errs) == 0:
		p.failAt(root, "No metadata version specified")
	case data == nil:
		p.failAt(root, "No data section provided")
	}
	if len(p.errs) > 0 {
		d.Err = p.errs.err()
		return d
	}
	d.Type, d.Version = typ, version
	pos := position{file: name, doc: index, line: data.Line + lineOff, col: data.Column}
	p.push("data")
	switch typ {
	case DocModulemd:
		if version > 2 {
			p.failAt(verNode, "Invalid mdversion for a stream object")
			break
		}
		d.Stream = p.parseStream(data, version, false)
		d.Stream.pos = pos
	case DocPackager:
		switch version {
		case 2:
			d.Stream = p.parseStream(data, 2, true)
			d.Stream.pos = pos
		case 3:
			d.PackagerV3 = p.parsePackagerV3(data)
			d.PackagerV3.pos = pos
		default:
			p.failAt(verNode, "Document type 'modulemd-packager' is permissible only for module stream version 2 or higher.")
		}
	case DocDefaults:
		if version != 1 {
			p.failAt(verNode, "Invalid mdversion for a defaults object")
			break
		}
		d.Defaults = p.parseDefaults(data)
		d.Defaults.pos = pos
	case DocObsoletes:
		if version != 1 {
			p.failAt(verNode, "Invalid mdversion for an obsoletes object")
			break
		}
		d.Obsoletes = p.parseObsoletes(data)
		d.Obsoletes.pos = pos
	case DocTranslations:
		if version != 1 {
			p.failAt(verNode, "Invalid mdversion for a translation object")
			break
		}
		d.Translation = p.parseTranslation(data)
		d.Translation.pos = pos
	default:
		p.failAt(typNode, "Document type %s unknown.", typ)
	}
	p.pop()
	if len(p.errs) == 0 {
		loc := func(path []string) (int, int) {
			m := locate(data, path)
			return m.Line + lineOff, m.Column
		}
		p.errs = append(p.errs, d.validate(loc)...)
	}
	d.Err = p.errs.err()
	return d
}

// locate follows path (below "data") in the node tree and returns the
// deepest node found, so that a validation error can point at the field.
func locate(n *yaml.Node, path []string) *yaml.Node {
	cur := n
	for _, seg := range path {
		var next *yaml.Node
		switch cur.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(cur.Content); i += 2 {
				if cur.Content[i].Value == seg {
					next = cur.Content[i+1]
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(cur.Content) {
				next = cur.Content[i]
			} else {
				for _, it := range cur.Content {
					if it.Kind == yaml.ScalarNode && it.Value == seg {
						next = it
					}
				}
			}
		}
		if next == nil {
			return cur
		}
		cur = next
	}
	return cur
}

// ReadFile reads a modulemd file into an index; see Read.
func ReadFile(path string, opts Options) (*Index, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read modulemd: %w", err)
	}
	return Read(data, path, opts)
}

// Read loads every document of data into a new Index, the way libmodulemd's
// ModuleIndex.update_from_string does: documents that fail are left out and
// reported, the others are merged by module. The index is returned even
// when err is not nil, holding what could be loaded; err is an ErrorList.
func Read(data []byte, name string, opts Options) (*Index, error) {
	idx := NewIndex()
	err := idx.Update(data, name, opts)
	return idx, err
}

// Update adds the documents of data to the index; see Read.
func (idx *Index) Update(data []byte, name string, opts Options) error {
	docs, hard := ReadDocuments(data, name, opts)
	var errs ErrorList
	for _, d := range docs {
		if d.Err != nil {
			errs = append(errs, Errors(d.Err)...)
			continue
		}
		if err := idx.AddDocument(d); err != nil {
			errs = append(errs, Errors(err)...)
		}
	}
	if hard != nil {
		var e *Error
		if errors.As(hard, &e) {
			errs = append(errs, e)
		}
	}
	return errs.err()
}

// ReadStream reads a file holding exactly one module stream, the way MBS
// reads a packager's submission (libmodulemd's ModuleStream.read_string):
// modulemd v1/v2 or modulemd-packager v2/v3 (v3 is converted to a stream
// v2). Name and stream may be absent; the stream is validated.
func ReadStream(data []byte, name string, opts Options) (*Stream, error) {
	docs, hard := ReadDocuments(data, name, opts)
	if hard != nil {
		return nil, hard
	}
	if len(docs) != 1 {
		return nil, ErrorList{{File: name, Line: 1, Column: 1, Document: -1, Message: fmt.Sprintf("YAML contained %d documents; expected a single module stream", len(docs))}}
	}
	d := docs[0]
	if d.Err != nil {
		return nil, d.Err
	}
	switch {
	case d.Stream != nil:
		return d.Stream, nil
	case d.PackagerV3 != nil:
		s, err := d.PackagerV3.ToStreamV2()
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, ErrorList{{File: name, Line: d.Line, Column: d.Column, Document: 0, Field: "document",
		Message: fmt.Sprintf("Expected `document: modulemd[-packager]`, got %s", d.Type)}}
}
