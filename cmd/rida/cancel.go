package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
)

func (m *Main) cancelCmd() *cobra.Command {
	var owner string
	cmd := &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a module build in init, wait or build: it ends failed, \"Canceled by <user>.\"",
		Long: "cancel asks the server to stop a module build: its running component builds are stopped and\n" +
			"it ends failed. Only its owner or an admin may; the server's refusal is printed as it says it.\n" +
			"Resubmitting the same module later resumes the build.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return fmt.Errorf("the module build id %q is not a positive integer", args[0])
			}
			client, err := m.client(cmd.Flags())
			if err != nil {
				return err
			}
			// As submit: a server without authentication takes the
			// canceling user from the request.
			if owner == "" && !m.sendsCredentials(cmd.Flags()) {
				owner = m.Getenv("USER")
			}
			b, err := client.CancelModuleBuild(cmd.Context(), id, owner)
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "%d %s is %s: %s\n", b.ID, b.NSVC(), b.State, b.StateReason)
			return nil
		},
	}
	cmd.Flags().StringVar(&owner, "owner", "", "cancel as this user (servers without authentication; default $USER)")
	addClientFlags(cmd.Flags())
	return cmd
}
