package main

import "github.com/spf13/cobra"

// extraCommands lists the subcommands that live in their own files.
func extraCommands() []*cobra.Command {
	return []*cobra.Command{newModulemdCmd()}
}
