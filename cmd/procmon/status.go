package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/procmon/procmon/api"
)

func runStatus(ctx context.Context, s *session, args []string) error {
	asJSON := false
	var names []string
	for _, a := range args {
		switch a {
		case "--json", "-j":
			asJSON = true
		default:
			if len(a) > 1 && a[0] == '-' {
				return usageError(fmt.Sprintf("unknown flag %s", a))
			}
			names = append(names, a)
		}
	}
	all, err := fetchStatus(ctx, s.client, names)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		return enc.Encode(all)
	}
	printStatus(s.out, all, time.Now())
	return nil
}

func fetchStatus(ctx context.Context, c *api.Client, names []string) ([]api.Instance, error) {
	if len(names) == 0 {
		return c.Status(ctx, "")
	}
	all := []api.Instance{}
	for _, name := range names {
		mine, err := c.Status(ctx, name)
		if err != nil {
			return nil, err
		}
		all = append(all, mine...)
	}
	return all, nil
}

// printStatus writes one aligned line per instance, named as the prefix of its
// output names it.
func printStatus(w io.Writer, all []api.Instance, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tPID\tUPTIME\tRESTARTS\tLAST EXIT")
	for _, st := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", st.Label, st.State, orDash(st.Pid),
			uptime(st.StartedAt, now), st.Restarts, exitText(st.ExitCode))
	}
	tw.Flush()
}

func orDash(pid int) string {
	if pid == 0 {
		return "-"
	}
	return strconv.Itoa(pid)
}

func exitText(code *int) string {
	if code == nil {
		return "-"
	}
	return strconv.Itoa(*code)
}

// uptime is short and coarser as it grows, like ps and docker ps.
func uptime(since *time.Time, now time.Time) string {
	if since == nil {
		return "-"
	}
	d := now.Sub(*since).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}
