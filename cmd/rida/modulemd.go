package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/rida-build/rida/modulemd"
)

// newModulemdCmd builds `rida modulemd`: validate, format and convert
// modulemd files with the same rules and output as libmodulemd.
func newModulemdCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "modulemd",
		Short: "Validate, format and convert modulemd files",
		// Errors are reported per line by the subcommands themselves.
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.AddCommand(modulemdValidateCmd(), modulemdFormatCmd(), modulemdConvertCmd())
	return cmd
}

func modulemdValidateCmd() *cobra.Command {
	var strict bool
	cmd := &cobra.Command{
		Use:   "validate [--strict] FILE...",
		Short: "Check modulemd files; print one line per error and exit 1 if any",
		Long: `Check every document of each FILE with libmodulemd's rules.

Streams without a name or stream are accepted (the build system fills them
in), as modulemd-validator does. Each error is printed on one line as
FILE:LINE:COLUMN: FIELD: MESSAGE, with positions in the file itself.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			failed := false
			for _, path := range args {
				errs, err := validateModulemdFile(path, strict)
				if err != nil {
					return err
				}
				for _, e := range errs {
					fmt.Fprintln(cmd.ErrOrStderr(), e.Error())
				}
				if len(errs) > 0 {
					failed = true
				}
			}
			if failed {
				// Errors are printed; exit 1 without a second message.
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&strict, "strict", false, "reject unknown keys (as MBS does)")
	return cmd
}

// validateModulemdFile returns the problems found in one file; err is only
// for files that cannot be read.
func validateModulemdFile(path string, strict bool) ([]*modulemd.Error, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("validate %s: %w", path, err)
	}
	docs, hard := modulemd.ReadDocuments(data, path, modulemd.Options{Strict: strict})
	var out []*modulemd.Error
	idx := modulemd.NewIndex()
	for _, d := range docs {
		if d.Err != nil {
			out = append(out, modulemd.Errors(d.Err)...)
			continue
		}
		// Check cross-document consistency (duplicate streams, defaults
		// conflicts) for what an index can hold.
		if d.Type == modulemd.DocPackager || d.Stream != nil && (d.Stream.Name == "" || d.Stream.Stream == "") {
			continue
		}
		out = append(out, modulemd.Errors(idx.AddDocument(d))...)
	}
	out = append(out, modulemd.Errors(hard)...)
	if len(docs) == 0 && hard == nil {
		out = append(out, &modulemd.Error{File: path, Line: 1, Column: 1, Document: -1, Message: "no YAML documents"})
	}
	return out, nil
}

func emitVersionFlag(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVar(v, "libmodulemd", "2.15", "output layout of this libmodulemd version: 2.15 or 2.14")
}

func parseEmitVersion(v string) (modulemd.EmitOptions, error) {
	switch v {
	case "2.15", "":
		return modulemd.EmitOptions{Version: modulemd.Emit215}, nil
	case "2.14":
		return modulemd.EmitOptions{Version: modulemd.Emit214}, nil
	}
	return modulemd.EmitOptions{}, fmt.Errorf("unsupported --libmodulemd %q: want 2.15 or 2.14", v)
}

// printErrors prints modulemd errors one per line and returns the quiet
// exit-1 error, or returns err itself for other failures.
func printErrors(w io.Writer, err error) error {
	errs := modulemd.Errors(err)
	if len(errs) == 0 {
		return err
	}
	for _, e := range errs {
		fmt.Fprintln(w, e.Error())
	}
	return &exitError{code: 1}
}

func modulemdFormatCmd() *cobra.Command {
	var version string
	var strict bool
	cmd := &cobra.Command{
		Use:   "format FILE",
		Short: "Print FILE the way libmodulemd writes it (byte for byte)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := parseEmitVersion(version)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("format: %w", err)
			}
			if out, ok := formatSingle(data, args[0], strict, opts); ok {
				_, err = cmd.OutOrStdout().Write(out)
				return err
			}
			idx, err := modulemd.Read(data, args[0], modulemd.Options{Strict: strict})
			if err != nil {
				return printErrors(cmd.ErrOrStderr(), err)
			}
			out, err := idx.Emit(opts)
			if err != nil {
				return printErrors(cmd.ErrOrStderr(), fmt.Errorf("format %s: %w", args[0], err))
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	emitVersionFlag(cmd, &version)
	cmd.Flags().BoolVar(&strict, "strict", false, "reject unknown keys")
	return cmd
}

// formatSingle handles files an index cannot hold but a user may still
// want formatted: one valid stream without name/stream (a packager's
// submission) or one packager v3 document.
func formatSingle(data []byte, name string, strict bool, opts modulemd.EmitOptions) ([]byte, bool) {
	docs, err := modulemd.ReadDocuments(data, name, modulemd.Options{Strict: strict})
	if err != nil || len(docs) != 1 || docs[0].Err != nil {
		return nil, false
	}
	d := docs[0]
	switch {
	case d.PackagerV3 != nil:
		out, err := d.PackagerV3.Emit(opts)
		return out, err == nil
	case d.Stream != nil && (d.Stream.Name == "" || d.Stream.Stream == ""):
		out, err := d.Stream.Emit(opts)
		return out, err == nil
	}
	return nil, false
}

func modulemdConvertCmd() *cobra.Command {
	var to, version string
	var asIndex bool
	cmd := &cobra.Command{
		Use:   "convert --to=v2 [--index] FILE",
		Short: "Convert a packager v2/v3 or stream v1 document to stream v2",
		Long: `Convert FILE (one document) to modulemd stream v2, as libmodulemd does.

A modulemd-packager v3 document becomes a single stream v2 whose dependency
blocks are its build configurations (buildopts of the first configuration
only); with --index it becomes one stream per configuration, with the
configuration's context and buildopts, plus a modulemd-defaults document for
profiles marked default. Packager v2 and stream v1 documents are upgraded.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to != "v2" {
				return fmt.Errorf("convert: unsupported --to=%q (only v2)", to)
			}
			opts, err := parseEmitVersion(version)
			if err != nil {
				return err
			}
			out, err := convertModulemdFile(args[0], asIndex, opts)
			if err != nil {
				return printErrors(cmd.ErrOrStderr(), err)
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&to, "to", "v2", "target format (v2: modulemd stream v2)")
	cmd.Flags().BoolVar(&asIndex, "index", false, "packager v3: one stream per build configuration, plus defaults")
	emitVersionFlag(cmd, &version)
	return cmd
}

func convertModulemdFile(path string, asIndex bool, opts modulemd.EmitOptions) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("convert %s: %w", path, err)
	}
	docs, err := modulemd.ReadDocuments(data, path, modulemd.Options{})
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("convert %s: expected exactly one document, found %d", path, len(docs))
	}
	d := docs[0]
	if d.Err != nil {
		return nil, d.Err
	}
	var idx *modulemd.Index
	switch {
	case d.PackagerV3 != nil && asIndex:
		idx, err = d.PackagerV3.ConvertToIndex()
		if err != nil {
			return nil, err
		}
	case d.PackagerV3 != nil:
		s, err := d.PackagerV3.ToStreamV2()
		if err != nil {
			return nil, err
		}
		idx = modulemd.NewIndex()
		if def, err := d.PackagerV3.Defaults(); err != nil {
			return nil, err
		} else if def != nil {
			if err := idx.AddDefaults(def); err != nil {
				return nil, err
			}
		}
		if s.Name == "" || s.Stream == "" {
			// An index needs names; a nameless stream is written alone.
			return s.Emit(opts)
		}
		if err := idx.AddStream(s); err != nil {
			return nil, err
		}
	case d.Stream != nil:
		s := d.Stream.UpgradeV2()
		if s.Name == "" || s.Stream == "" {
			return s.Emit(opts)
		}
		idx = modulemd.NewIndex()
		if err := idx.AddStream(s); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("convert: document is not a module stream or packager document")
	}
	return idx.Emit(opts)
}
