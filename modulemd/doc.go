// Package modulemd reads, validates, converts and writes modulemd, the
// module metadata format of Fedora/RHEL modularity, with the rules of
// libmodulemd (the C reference library) and byte-identical output.
//
// # Formats
//
// Supported documents: module stream v1 and v2 (`document: modulemd`, one
// Stream type for both), packager v2 (read as a Stream) and v3 (PackagerV3),
// defaults v1, obsoletes v1 and translations v1. A file is a YAML stream of
// documents; ReadDocuments parses each on its own, Read/ReadFile merge them
// by module into an Index as libmodulemd's ModuleIndex does (stream
// metadata versions unified to the highest, duplicate streams with equal
// content dropped, defaults merged), and ReadStream reads the single stream
// of a packager's submission the way MBS does (name and stream optional,
// packager v3 converted). Parsing works on go.yaml.in/yaml/v3 nodes and
// never applies YAML implicit typing: `stream: 1.10` is the string "1.10",
// versions are uint64, buildorder int64. For speed, documents in the plain
// block style most files use are turned into nodes by a small dedicated
// parser, and independent documents are parsed concurrently; anything else
// goes through go-yaml, and tests and a fuzz target check that both paths
// build identical nodes.
//
// # Errors
//
// Every problem is an *Error with File, Line, Column (in the user's own
// file, not in a re-emitted copy as libmodulemd's messages are), Document,
// Field (a dotted path such as data.components.rpms.foo.buildorder) and
// Message (worded like libmodulemd's). Functions returning several return an
// ErrorList; Errors extracts them from any error. Unlike libmodulemd, which
// stops at the first problem, all problems of a document are reported.
// Options.Strict rejects unknown keys (modulemd-validator and MBS behaviour);
// the default skips them (DNF behaviour).
//
// # Output
//
// Index.Emit (and Stream.Emit for a single stream) writes exactly what
// libmodulemd 2.15.3 writes — key order, sorted sets, number-like strings
// double-quoted, libyaml's 80-column folding and block scalars — through a
// port of the relevant parts of libyaml's emitter. EmitOptions{Version:
// Emit214} reproduces libmodulemd 2.14 instead (no number quoting).
//
// # Deliberate differences from libmodulemd
//
// Where libmodulemd has a quirk, rida does what a user would want:
//
//   - buildorder: libmodulemd truncates it to 32 bits (4294967297 becomes
//     1); rida keeps the full int64 and rejects values outside it.
//   - Impossible service-level dates (2077-13-45) crash libmodulemd; rida
//     rejects them with "Date not in the form YYYY-MM-DD".
//   - xmd lists with items of mixed types lose items in libmodulemd; rida
//     keeps every item.
//   - rpm-map: libmodulemd writes only the first checksum per digest (a loop
//     bound bug); rida writes all of them, so nothing is lost on a round
//     trip.
//   - A defaults document without `module` is accepted by libmodulemd under
//     a placeholder name; rida rejects it ("Defaults did not specify a
//     module name.").
//   - api/filter/demodularized parse errors are reported where they are,
//     instead of resurfacing later as an unrelated event error.
//   - Strict mode reports unknown root keys wherever they are; libmodulemd
//     only sees those before `data:`.
//   - A document without a header fails on its own ("No document type
//     specified"); libmodulemd sometimes aborts the whole file instead.
//   - libyaml folds long lines of a folded block scalar even when the line
//     starts with a space, which changes the text when it is read back (a
//     description " aaa… b" comes back as " aaa…\nb"); rida leaves such
//     lines unfolded. No real file is affected (all corpus output is
//     identical).
//   - Strings containing NUL ("\0") are rejected: C tools would cut them.
//   - An empty scalar where a list is expected is the empty set (as in
//     libmodulemd 2.15; 2.14 made it a set holding "").
//
// Kept as in libmodulemd, because tools depend on them: component rationale
// is not required; names, streams, arches and component names are not
// character-checked (MBS relies on SCM names); the v1 `eol` becomes the
// "rawhide" service level; packager v3 conversion to a single stream keeps
// only the first configuration's buildopts.
package modulemd
