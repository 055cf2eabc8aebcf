package main

import (
	"fmt"
	"os"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/httpapi"
	"github.com/spf13/cobra"
)

func (m *Main) importCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import-module FILE|SCMURL",
		Short: "Import module metadata (e.g. the platform base module) as a ready build",
		Long: "Import a modulemd file, or the modulemd at an SCM URL (which the server fetches), " +
			"as a ready module build that other modules can buildrequire. Importing the same " +
			"name:stream:version:context again updates it.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(cmd.Flags())
			if err != nil {
				return err
			}
			client, err := m.client(cmd.Flags())
			if err != nil {
				return err
			}
			req := rida.ImportRequest{SCMURL: args[0]}
			if data, err := os.ReadFile(args[0]); err == nil {
				req = rida.ImportRequest{Modulemd: string(data)}
			} else if !os.IsNotExist(err) {
				return fmt.Errorf("read %s: %w", args[0], err)
			}
			b, messages, err := client.ImportModule(cmd.Context(), req)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				return printJSON(out, map[string]any{"module": httpapi.ModuleBuildJSON(b), "messages": messages})
			}
			for _, msg := range messages {
				fmt.Fprintln(out, msg)
			}
			_, err = fmt.Fprintf(out, "id %d\n", b.ID)
			return err
		},
	}
	addClientFlags(cmd.Flags())
	return cmd
}
