// Command robfig-table prints the ticks that github.com/robfig/cron/v3 (the library the
// Kubernetes CronJob controller schedules with) gives for a table of cases, so that
// assetcron's Python port (runner/assetcron/_cron.py) can be checked against it.
//
// Input (stdin): a JSON list of cases {"expr", "zone", "after" (RFC 3339), "count"}.
// Output (stdout): the same list, each case with either "ticks" (up to count RFC 3339 UTC
// strings: repeated Next from after, stopping early at the zero time that Next returns
// when nothing matches within five years) or "error" (ParseStandard's message).
//
// Each case is parsed as the controller parses a CronJob with spec.timeZone:
// cron.ParseStandard("TZ=" + zone + " " + expr) (pkg/controller/cronjob/utils.go
// formatSchedule), and ticks are repeated Schedule.Next calls, as the controller's
// mostRecentScheduleTime / nextScheduleTime walk them.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/robfig/cron/v3"
)

type testCase struct {
	Expr  string `json:"expr"`
	Zone  string `json:"zone"`
	After string `json:"after"`
	Count int    `json:"count"`
}

type result struct {
	testCase
	Ticks *[]string `json:"ticks,omitempty"` // nil for an error; empty when nothing fires
	Error string    `json:"error,omitempty"`
}

func run(c testCase) (result, error) {
	out := result{testCase: c}
	after, err := time.Parse(time.RFC3339Nano, c.After)
	if err != nil {
		return out, fmt.Errorf("case %q in %s: bad after: %w", c.Expr, c.Zone, err)
	}
	sched, err := cron.ParseStandard("TZ=" + c.Zone + " " + c.Expr)
	if err != nil {
		out.Error = err.Error()
		return out, nil
	}
	ticks := []string{}
	t := after
	for range c.Count {
		t = sched.Next(t)
		if t.IsZero() {
			break
		}
		ticks = append(ticks, t.UTC().Format(time.RFC3339))
	}
	out.Ticks = &ticks
	return out, nil
}

func main() {
	var cases []testCase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		fmt.Fprintln(os.Stderr, "robfig-table: reading cases:", err)
		os.Exit(2)
	}
	results := make([]result, 0, len(cases))
	for _, c := range cases {
		r, err := run(c)
		if err != nil {
			fmt.Fprintln(os.Stderr, "robfig-table:", err)
			os.Exit(2)
		}
		results = append(results, r)
	}
	// One case per line, so that a change in the table shows as a readable diff.
	var buf bytes.Buffer
	buf.WriteString("[\n")
	for i, r := range results {
		line, err := json.Marshal(r)
		if err != nil {
			fmt.Fprintln(os.Stderr, "robfig-table: writing results:", err)
			os.Exit(1)
		}
		buf.Write(line)
		if i < len(results)-1 {
			buf.WriteString(",")
		}
		buf.WriteString("\n")
	}
	buf.WriteString("]\n")
	if _, err := os.Stdout.Write(buf.Bytes()); err != nil {
		fmt.Fprintln(os.Stderr, "robfig-table: writing results:", err)
		os.Exit(1)
	}
}
