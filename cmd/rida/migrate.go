package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/sqlstore"
	"github.com/spf13/cobra"
)

func (m *Main) migrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate up|status",
		Short: "Apply pending database migrations, or show which are applied",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "up" && args[0] != "status" {
				return fmt.Errorf("unknown migrate action %q: want up or status", args[0])
			}
			c, err := m.loadConfig(cmd.Flags())
			if err != nil {
				return err
			}
			db, err := sqlstore.Open(cmd.Context(), c.DB, sqlstore.Options{Now: m.Now, Logger: m.logger(c), NoMigrate: true})
			if err != nil {
				return fmt.Errorf("open database: %w", err)
			}
			defer db.Close()
			if args[0] == "up" {
				if err := db.MigrateUp(cmd.Context()); err != nil {
					return err
				}
			}
			status, err := db.MigrationStatus(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "VERSION\tNAME\tAPPLIED")
			for _, s := range status {
				applied := "pending"
				if s.Applied {
					applied = "applied"
					if s.AppliedAt != nil {
						applied += " " + s.AppliedAt.UTC().Format(rida.TimeFormat)
					}
				}
				fmt.Fprintf(w, "%d\t%s\t%s\n", s.Version, s.Name, applied)
			}
			return w.Flush()
		},
	}
	addServerFlags(cmd.Flags())
	return cmd
}
