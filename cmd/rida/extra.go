package main

import "github.com/spf13/cobra"

// extraCommands lists the subcommands that live in their own files and are
// added to the root as they land.
func extraCommands() []*cobra.Command {
	return nil
}
