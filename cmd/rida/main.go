// Command rida is the module build orchestrator: the server (serve), its
// database operator path (migrate), and API clients (list, show).
//
// This package is the only place that wires adapters together.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rida-build/rida"
	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := NewMain()
	err := m.Run(ctx, os.Args[1:])
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// Main holds what the commands share and what tests replace: the output
// streams, the environment, the clock, and a hook told the server's address.
type Main struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Now            func() time.Time
	// Ready, when set, is called with the address "serve" listens on.
	Ready func(addr string)
}

// NewMain returns a Main on the process's streams, environment and clock.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Now: time.Now}
}

// Run executes the command line args (without the program name).
func (m *Main) Run(ctx context.Context, args []string) error {
	root := m.rootCmd()
	root.SetArgs(args)
	root.SetOut(m.Stdout)
	root.SetErr(m.Stderr)
	return root.ExecuteContext(ctx)
}

func (m *Main) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "rida",
		Short:         "rida builds Linux distribution modules: a REST service that orchestrates module builds",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(m.serveCmd(), m.migrateCmd(), m.versionCmd(), m.listCmd(), m.showCmd(), m.importCmd(), m.submitCmd(), m.explainCmd(), m.buildLocalCmd(), m.watchCmd(), m.cancelCmd())
	root.AddCommand(extraCommands()...)
	return root
}

// exitError carries a process exit code other than 1 or a quiet failure
// (the command already printed what went wrong).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exitCode prints err once and returns the process exit code: 0 for nil, the
// exitError's code, else 1. Application errors print their message only.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			return code
		}
		err = ee.err
	}
	var re *rida.Error
	if errors.As(err, &re) && re.Code != rida.CodeInternal {
		fmt.Fprintln(stderr, "rida:", re.Message)
	} else {
		fmt.Fprintln(stderr, "rida:", err)
	}
	return code
}

func (m *Main) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print rida's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "rida", rida.BuildVersion())
			return err
		},
	}
}
