package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/httpapi"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// submitFlags are the options submit and explain share.
type submitFlags struct {
	branch, owner, strategy string
	buildrequires, requires []string
	scratch                 bool
	reuse                   string
}

func (f *submitFlags) add(flags *pflag.FlagSet) {
	flags.StringVar(&f.branch, "branch", "", "branch of the module repository; it becomes the stream")
	flags.StringVar(&f.owner, "owner", "", "submit as this user (servers without authentication; default $USER)")
	flags.StringVar(&f.strategy, "rebuild-strategy", "", "all, changed-and-after or only-changed")
	flags.StringArrayVar(&f.buildrequires, "buildrequire", nil, "override a buildrequire's streams: NAME:STREAM[,STREAM...]; repeatable")
	flags.StringArrayVar(&f.requires, "require", nil, "override a require's streams: NAME:STREAM[,STREAM...]; repeatable")
	flags.BoolVar(&f.scratch, "scratch", false, "scratch build")
	flags.StringVar(&f.reuse, "reuse-components-from", "", "ready build (id or N:S:V:C) whose components may be reused")
}

func parseOverrides(flag string, values []string) (map[string][]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	out := map[string][]string{}
	for _, v := range values {
		name, streams, ok := strings.Cut(v, ":")
		if !ok || name == "" || streams == "" {
			return nil, fmt.Errorf("--%s %q: want NAME:STREAM[,STREAM...]", flag, v)
		}
		out[name] = append(out[name], strings.Split(streams, ",")...)
	}
	return out, nil
}

func (f *submitFlags) request(scmurl string, dryRun bool) (rida.SubmitRequest, error) {
	brs, err := parseOverrides("buildrequire", f.buildrequires)
	if err != nil {
		return rida.SubmitRequest{}, err
	}
	reqs, err := parseOverrides("require", f.requires)
	if err != nil {
		return rida.SubmitRequest{}, err
	}
	return rida.SubmitRequest{
		SCMURL: scmurl, Branch: f.branch, Owner: f.owner, RebuildStrategy: rida.RebuildStrategy(f.strategy),
		BuildrequireOverrides: brs, RequireOverrides: reqs, Scratch: f.scratch, DryRun: dryRun,
		ReuseComponentsFrom: f.reuse,
	}, nil
}

func (m *Main) submitCmd() *cobra.Command {
	var f submitFlags
	cmd := &cobra.Command{
		Use:   "submit SCMURL --branch BRANCH",
		Short: "Submit a module build; prints the id of each build it makes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.runSubmit(cmd, &f, args[0], false)
		},
	}
	f.add(cmd.Flags())
	addClientFlags(cmd.Flags())
	return cmd
}

func (m *Main) explainCmd() *cobra.Command {
	var f submitFlags
	cmd := &cobra.Command{
		Use:   "explain SCMURL --branch BRANCH",
		Short: "Show the builds a submission would make, their contexts and buildrequires, and why; creates nothing",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.runSubmit(cmd, &f, args[0], true)
		},
	}
	f.add(cmd.Flags())
	addClientFlags(cmd.Flags())
	return cmd
}

func (m *Main) runSubmit(cmd *cobra.Command, f *submitFlags, scmurl string, dryRun bool) error {
	format, err := outputFormat(cmd.Flags())
	if err != nil {
		return err
	}
	if f.owner == "" && !m.sendsCredentials(cmd.Flags()) {
		// Without authentication the server records whom the client says;
		// the local user is the honest default. With it, the server names
		// the owner.
		f.owner = m.Getenv("USER")
	}
	req, err := f.request(scmurl, dryRun)
	if err != nil {
		return err
	}
	client, err := m.client(cmd.Flags())
	if err != nil {
		return err
	}
	sub, err := client.SubmitModuleBuild(cmd.Context(), req)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if format == "json" {
		builds := make([]any, len(sub.Builds))
		for i, b := range sub.Builds {
			builds[i] = httpapi.ModuleBuildJSON(b)
		}
		return printJSON(out, map[string]any{"builds": builds, "explanation": sub.Explanation})
	}
	for i, b := range sub.Builds {
		if dryRun {
			fmt.Fprintf(out, "would build %s\n", b.NSVC())
			for _, name := range slices.Sorted(maps.Keys(b.BuildRequires)) {
				br := b.BuildRequires[name]
				fmt.Fprintf(out, "  buildrequires %s:%s:%s:%s\n", name, br.Stream, br.Version, br.Context)
			}
			continue
		}
		note := ""
		if !sub.Created[i] {
			note = " (already exists, state " + b.State.String() + ")"
		}
		fmt.Fprintln(out, strconv.FormatInt(b.ID, 10)+" "+b.NSVC()+note)
	}
	for _, line := range sub.Explanation {
		fmt.Fprintln(out, line)
	}
	return nil
}
