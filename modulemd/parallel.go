package modulemd

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Loading big multi-document files (repository modules.yaml) is dominated
// by YAML scanning, which is sequential in go-yaml. Documents are
// independent, so readChunked splits the file at document-start markers,
// parses each piece with fastParse where it can, and decodes the pieces
// concurrently. It is only an optimisation: whenever
// the split is not clean (a piece fails to parse, holds other than one
// document, or the file uses directives) it reports false and the caller
// falls back to one sequential decoder, so results never depend on it.

const (
	parallelMinBytes = 64 << 10
	parallelMinDocs  = 4
)

type chunk struct {
	start, end int
	lineOff    int
}

// splitDocuments returns the pieces of data starting at each line that is a
// YAML document-start marker ("---" at column 0 followed by a blank or the
// end of line). The first piece is whatever precedes the first marker.
func splitDocuments(data []byte) ([]chunk, bool) {
	var chunks []chunk
	start, startLine, line := 0, 0, 0
	for i := 0; i < len(data); {
		nl := bytes.IndexByte(data[i:], '\n')
		end := len(data)
		if nl >= 0 {
			end = i + nl + 1
		}
		l := data[i:end]
		if len(l) > 0 && l[0] == '%' {
			return nil, false // directives bind to the next document
		}
		if len(l) >= 3 && l[0] == '-' && l[1] == '-' && l[2] == '-' &&
			(len(l) == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\n' || l[3] == '\r') && i > start {
			chunks = append(chunks, chunk{start: start, end: i, lineOff: startLine})
			start, startLine = i, line
		}
		line++
		i = end
	}
	chunks = append(chunks, chunk{start: start, end: len(data), lineOff: startLine})
	return chunks, true
}

// onlyTrivia reports whether b holds nothing but blank lines and comments.
func onlyTrivia(b []byte) bool {
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		l := b
		if nl >= 0 {
			l, b = b[:nl], b[nl+1:]
		} else {
			b = nil
		}
		l = bytes.TrimLeft(l, " \t\r")
		if len(l) > 0 && l[0] != '#' {
			return false
		}
	}
	return true
}

// readChunked splits data into documents and parses each with the fast
// parser, or go-yaml where the fast parser declines; large files are
// processed concurrently. It reports false when the split is not clean, and
// the caller then decodes the whole file with one go-yaml decoder.
func readChunked(data []byte, name string, opts Options) ([]*Document, bool) {
	chunks, ok := splitDocuments(data)
	if !ok {
		return nil, false
	}
	if len(chunks) > 0 && onlyTrivia(data[chunks[0].start:chunks[0].end]) {
		chunks = chunks[1:]
	}
	if len(chunks) == 0 {
		return nil, false
	}
	docs := make([]*Document, len(chunks))
	workers := runtime.GOMAXPROCS(0)
	if len(data) < parallelMinBytes || len(chunks) < parallelMinDocs || workers < 2 {
		for i, c := range chunks {
			d, ok := decodeChunk(data[c.start:c.end], name, i, opts, c.lineOff)
			if !ok {
				return nil, false
			}
			docs[i] = d
		}
		return docs, true
	}
	var failed bool
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := failed
				mu.Unlock()
				if stop || i >= len(chunks) {
					return
				}
				d, ok := decodeChunk(data[chunks[i].start:chunks[i].end], name, i, opts, chunks[i].lineOff)
				if !ok {
					mu.Lock()
					failed = true
					mu.Unlock()
					return
				}
				docs[i] = d
			}
		}()
	}
	wg.Wait()
	if failed {
		return nil, false
	}
	return docs, true
}

// decodeChunk decodes a piece that must hold exactly one document.
func decodeChunk(b []byte, name string, index int, opts Options, lineOff int) (d *Document, ok bool) {
	defer func() {
		if recover() != nil {
			d, ok = nil, false
		}
	}()
	if n, ok := fastParse(b); ok {
		return parseDocument(n, name, index, opts, lineOff), true
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var n yaml.Node
	if err := dec.Decode(&n); err != nil {
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, false
	}
	return parseDocument(&n, name, index, opts, lineOff), true
}
