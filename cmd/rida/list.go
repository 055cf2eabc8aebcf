package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/httpapi"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// addClientFlags adds the flags the API client commands share.
func addClientFlags(flags *pflag.FlagSet) {
	flags.String("config", "", "YAML configuration file (env RIDA_CONFIG)")
	flags.String("server", "http://127.0.0.1:8080", "rida server base URL (env RIDA_SERVER)")
	flags.StringP("output", "o", "table", "output format: table or json")
	flags.String("log-level", "info", "log level")
	flags.String("log-format", "text", "log format")
	addClientAuthFlags(flags)
}

func outputFormat(flags *pflag.FlagSet) (string, error) {
	o, _ := flags.GetString("output")
	if o != "table" && o != "json" {
		return "", fmt.Errorf("unknown output format %q: want table or json", o)
	}
	return o, nil
}

func (m *Main) client(flags *pflag.FlagSet) (rida.ModuleBuildService, error) {
	c, err := m.loadConfig(flags)
	if err != nil {
		return nil, err
	}
	hc, err := m.httpClient(c)
	if err != nil {
		return nil, err
	}
	return httpapi.NewClient(c.Server, hc), nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func (m *Main) listCmd() *cobra.Command {
	var (
		name, stream, owner, context string
		states                       []string
		page, perPage                int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List module builds on a rida server, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := outputFormat(cmd.Flags())
			if err != nil {
				return err
			}
			client, err := m.client(cmd.Flags())
			if err != nil {
				return err
			}
			f := rida.ModuleBuildFilter{Page: page, PerPage: perPage}
			for flag, dst := range map[string]**string{"name": &f.Name, "stream": &f.Stream, "owner": &f.Owner, "context": &f.Context} {
				if cmd.Flags().Changed(flag) {
					v, _ := cmd.Flags().GetString(flag)
					*dst = &v
				}
			}
			for _, s := range states {
				st, err := rida.ParseModuleState(s)
				if err != nil {
					return err
				}
				f.States = append(f.States, st)
			}
			builds, total, err := client.FindModuleBuilds(cmd.Context(), f)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				items := make([]any, len(builds))
				for i, b := range builds {
					items[i] = httpapi.ModuleBuildJSON(b)
				}
				return printJSON(out, map[string]any{"items": items, "total": total})
			}
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tNAME\tSTREAM\tVERSION\tCONTEXT\tSTATE\tOWNER\tSUBMITTED")
			for _, b := range builds {
				fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", b.ID, b.Name, b.Stream, b.Version, b.Context, b.State, b.Owner, b.TimeSubmitted.UTC().Format(rida.TimeFormat))
			}
			if err := w.Flush(); err != nil {
				return err
			}
			_, err = fmt.Fprintf(out, "%d of %d module builds (page %d)\n", len(builds), total, max(page, 1))
			return err
		},
	}
	addClientFlags(cmd.Flags())
	cmd.Flags().StringVar(&name, "name", "", "only builds of this module name")
	cmd.Flags().StringVar(&stream, "stream", "", "only builds of this stream")
	cmd.Flags().StringVar(&owner, "owner", "", "only builds submitted by this user")
	cmd.Flags().StringVar(&context, "context", "", "only builds with this context")
	cmd.Flags().StringSliceVar(&states, "state", nil, "only builds in these states (init, wait, build, done, failed, ready, garbage); repeatable")
	cmd.Flags().IntVar(&page, "page", 1, "page number")
	cmd.Flags().IntVar(&perPage, "per-page", rida.DefaultPerPage, "builds per page")
	return cmd
}

func (m *Main) showCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one module build and its components",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return fmt.Errorf("invalid module build id %q: want a positive integer", args[0])
			}
			format, err := outputFormat(cmd.Flags())
			if err != nil {
				return err
			}
			client, err := m.client(cmd.Flags())
			if err != nil {
				return err
			}
			b, err := client.FindModuleBuildByID(cmd.Context(), id, rida.ModuleBuildInclude{Components: true, StateTrace: true})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				comps := make([]any, len(b.Components))
				for i, c := range b.Components {
					comps[i] = httpapi.ComponentBuildJSON(c)
				}
				return printJSON(out, map[string]any{"module_build": httpapi.ModuleBuildJSON(b), "components": comps})
			}
			return printModuleBuild(out, b)
		},
	}
	addClientFlags(cmd.Flags())
	return cmd
}

func printModuleBuild(out io.Writer, b *rida.ModuleBuild) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "ID:\t%d\n", b.ID)
	fmt.Fprintf(w, "NSVC:\t%s\n", b.NSVC())
	fmt.Fprintf(w, "State:\t%s\n", b.State)
	if b.StateReason != "" {
		fmt.Fprintf(w, "Reason:\t%s\n", b.StateReason)
	}
	fmt.Fprintf(w, "Owner:\t%s\n", b.Owner)
	if b.SCMURL != "" {
		fmt.Fprintf(w, "SCM URL:\t%s\n", b.SCMURL)
	}
	if b.KojiTag != "" {
		fmt.Fprintf(w, "Koji tag:\t%s\n", b.KojiTag)
	}
	fmt.Fprintf(w, "Submitted:\t%s\n", b.TimeSubmitted.UTC().Format(rida.TimeFormat))
	if b.TimeCompleted != nil {
		fmt.Fprintf(w, "Completed:\t%s\n", b.TimeCompleted.UTC().Format(rida.TimeFormat))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(b.StateTrace) > 0 {
		fmt.Fprintln(out, "\nHistory:")
		w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		for _, t := range b.StateTrace {
			fmt.Fprintf(w, "  %s\t%s\t%s\n", t.Time.UTC().Format(rida.TimeFormat), rida.ModuleState(t.State), t.Reason)
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "\nComponents (%d):\n", len(b.Components))
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "  ID\tPACKAGE\tBATCH\tSTATE\tTASK\tNVR")
	for _, c := range b.Components {
		state := c.State.String()
		if state == "" {
			state = "waiting"
		}
		task := "-"
		if c.TaskID != 0 {
			task = strconv.FormatInt(c.TaskID, 10)
		}
		fmt.Fprintf(w, "  %d\t%s\t%d\t%s\t%s\t%s\n", c.ID, c.Package, c.Batch, state, task, c.NVR)
	}
	return w.Flush()
}
