package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/cmd/llmops/render"
	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/plugins/sdk/traffic"
	"github.com/llmops/llmops/state"
)

const trafficUsage = `
Usage: llmops traffic <ls|show|export> [options] [ARGS]

The traffic the deployments with a capture block captured (see
docs/monitoring.md), as it is on disk: redacted when it was captured.

  ls [ADDRESS]            without an address: each deployment with
                          captured traffic (segments, exchanges, feedback,
                          bytes); with one (deployment.NAME): its newest
                          exchanges (-n), with their feedback rating
  show ADDRESS REQUEST_ID one exchange in full, with its feedback
  export ADDRESS          the exchanges as JSON lines, each with its
                          feedback (-o FILE instead of stdout; -sealed:
                          only sealed segments, what a dataset reads;
                          -min-rating N: only exchanges rated N or more)
`

func runTraffic(m *meta, args []string) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(m.stdout, strings.TrimSpace(trafficUsage)+"\n")
		if len(args) == 0 {
			return exitError
		}
		return exitOK
	}
	sub, args := args[0], args[1:]
	fs := m.newFlags("traffic "+sub, trafficUsage)
	jsonOut := fs.Bool("json", false, "ls, show: machine-readable output.")
	n := fs.Int("n", 50, "ls ADDRESS: show the newest N exchanges (0: all).")
	out := fs.String("o", "", "export: write to this file (mode 0600) instead of stdout.")
	sealed := fs.Bool("sealed", false, "export: only sealed segments (what a dataset snapshot reads).")
	minRating := fs.Float64("min-rating", 0, "export: only exchanges whose feedback rating is at least this (0: all).")
	m.addStateFlags(fs)
	m.addVarFlags(fs)
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	want := map[string]int{"ls": 1, "show": 2, "export": 1}
	max, known := want[sub]
	if !known {
		return m.errorDetail("Unknown traffic command "+sub, "Use ls, show or export (llmops traffic -help).")
	}
	if fs.NArg() > max || sub != "ls" && fs.NArg() != max {
		return m.errorDetail("Wrong arguments", strings.TrimSpace(trafficUsage))
	}
	ctx := context.Background()
	tr, ok := m.openTraffic(ctx)
	if !ok {
		return exitError
	}
	if fs.NArg() == 0 {
		return m.trafficList(tr, *jsonOut)
	}
	dir, ok := tr.dirOf(m, fs.Arg(0))
	if !ok {
		return exitError
	}
	switch sub {
	case "ls":
		return m.trafficRows(fs.Arg(0), dir, *n, *jsonOut)
	case "show":
		return m.trafficShow(fs.Arg(0), dir, fs.Arg(1), *jsonOut)
	default:
		var mr *float64
		if *minRating != 0 {
			mr = minRating
		}
		return m.trafficExport(dir, *out, *sealed, mr)
	}
}

// trafficStore is what the traffic commands read: the artifact store's
// root and the deployments the state records.
type trafficStore struct {
	root string
	deps map[string]string // address -> deployment id
}

func (m *meta) openTraffic(ctx context.Context) (*trafficStore, bool) {
	cfg, ok := m.loadConfig()
	if !ok {
		return nil, false
	}
	vars := map[string]cty.Value{}
	if cfg.Artifacts != nil {
		// Only an artifacts block can use variables the store depends on.
		if vars, ok = m.collectVars(cfg); !ok {
			return nil, false
		}
	}
	root, diags := engine.ArtifactDir(cfg, vars)
	if diags.HasErrors() {
		m.showDiags(diags)
		return nil, false
	}
	st, ok := m.openState(ctx)
	if !ok {
		return nil, false
	}
	defer st.Close()
	snap, err := st.Snapshot(ctx, 0)
	if err != nil {
		m.errorDetail("Cannot read the state", err.Error())
		return nil, false
	}
	return &trafficStore{root: root, deps: deploymentIDs(snap)}, true
}

// deploymentIDs maps the state's deployments' addresses to their ids.
func deploymentIDs(snap *state.Snapshot) map[string]string {
	out := map[string]string{}
	for _, o := range snap.Objects {
		if o.Addr.Resource.Type != "deployment" || o.Addr.Resource.IsData() {
			continue
		}
		v, err := decodeObject(o)
		if err != nil || v.IsNull() || !v.Type().IsObjectType() || !v.Type().HasAttribute("id") {
			continue
		}
		if id := v.GetAttr("id"); id.IsKnown() && !id.IsNull() {
			out[o.Addr.String()] = id.AsString()
		}
	}
	return out
}

func (tr *trafficStore) dirOf(m *meta, addr string) (string, bool) {
	ri, err := addrs.ParseResourceInstance(addr)
	if err != nil || ri.Resource.Type != "deployment" {
		m.errorDetail("Invalid address", fmt.Sprintf("%q is not a deployment's address, such as deployment.support.", addr))
		return "", false
	}
	id, ok := tr.deps[ri.String()]
	if !ok {
		m.errorDetail("No such deployment", fmt.Sprintf("The state records no %s. `llmops traffic ls` lists the deployments with captured traffic.", ri))
		return "", false
	}
	dir, err := traffic.Dir(tr.root, id)
	if err != nil {
		m.errorDetail("Invalid deployment id", err.Error())
		return "", false
	}
	return dir, true
}

type trafficSummary struct {
	Address  string `json:"address"`
	ID       string `json:"id"`
	Dir      string `json:"dir"`
	Sealed   int    `json:"sealed_segments"`
	Open     int    `json:"open_segments"`
	Rows     int    `json:"exchanges"`
	Feedback int    `json:"feedback"`
	Bytes    int64  `json:"bytes"`
}

func (m *meta) trafficList(tr *trafficStore, jsonOut bool) int {
	byID := map[string]string{}
	for a, id := range tr.deps {
		byID[id] = a
	}
	ents, _ := os.ReadDir(filepath.Join(tr.root, "traffic"))
	var list []trafficSummary
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		s := trafficSummary{Address: byID[e.Name()], ID: e.Name(), Dir: filepath.Join(tr.root, "traffic", e.Name())}
		if s.Address == "" {
			s.Address = "-" // not in the state (destroyed outside llmops?)
		}
		segs, err := traffic.Segments(s.Dir)
		if err != nil {
			return m.errorDetail("Cannot read the captured traffic", err.Error())
		}
		for _, sg := range segs {
			if sg.Sealed {
				s.Sealed++
			} else {
				s.Open++
			}
			s.Bytes += sg.Bytes
		}
		recs, err := traffic.ReadRecords(s.Dir, false)
		if err != nil {
			return m.errorDetail("Cannot read the captured traffic", err.Error())
		}
		for _, r := range recs {
			if r.Type == traffic.TypeFeedback {
				s.Feedback++
			} else {
				s.Rows++
			}
		}
		list = append(list, s)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Address+list[i].ID < list[j].Address+list[j].ID })
	if jsonOut {
		if list == nil {
			list = []trafficSummary{}
		}
		b, _ := json.MarshalIndent(map[string]any{"format_version": render.JSONFormatVersion, "deployments": list}, "", "  ")
		fmt.Fprintln(m.stdout, string(b))
		return exitOK
	}
	if len(list) == 0 {
		fmt.Fprintln(m.stdout, "No captured traffic. A deployment captures with a capture block (docs/monitoring.md).")
		return exitOK
	}
	tw := tabwriter.NewWriter(m.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tID\tSEGMENTS\tEXCHANGES\tFEEDBACK\tBYTES")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%d sealed, %d open\t%d\t%d\t%d\n", s.Address, s.ID, s.Sealed, s.Open, s.Rows, s.Feedback, s.Bytes)
	}
	tw.Flush()
	return exitOK
}

func (m *meta) joined(dir string, sealedOnly bool) ([]traffic.Row, bool) {
	recs, err := traffic.ReadRecords(dir, sealedOnly)
	if err != nil {
		m.errorDetail("Cannot read the captured traffic", err.Error())
		return nil, false
	}
	rows, _ := traffic.Join(recs)
	return rows, true
}

func (m *meta) trafficRows(addr, dir string, n int, jsonOut bool) int {
	rows, ok := m.joined(dir, false)
	if !ok {
		return exitError
	}
	if n > 0 && len(rows) > n {
		rows = rows[len(rows)-n:]
	}
	if jsonOut {
		if rows == nil {
			rows = []traffic.Row{}
		}
		b, _ := json.MarshalIndent(map[string]any{"format_version": render.JSONFormatVersion, "address": addr, "exchanges": rows}, "", "  ")
		fmt.Fprintln(m.stdout, string(b))
		return exitOK
	}
	if len(rows) == 0 {
		fmt.Fprintf(m.stdout, "%s has captured nothing yet (%s).\n", addr, dir)
		return exitOK
	}
	tw := tabwriter.NewWriter(m.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tREQUEST ID\tREV\tSTATUS\tLATENCY\tTOKENS\tRATING\tINPUT")
	for _, r := range rows {
		rating := "-"
		if r.Feedback != nil && r.Feedback.Rating != nil {
			rating = strconv.FormatFloat(*r.Feedback.Rating, 'g', -1, 64)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.0fms\t%d+%d\t%s\t%s\n", r.Time.Local().Format("2006-01-02 15:04:05"), r.RequestID, r.Revision, r.Status,
			r.LatencyMS, r.PromptTokens, r.CompletionTokens, rating, clipLine(r.Input(), 60))
	}
	tw.Flush()
	return exitOK
}

func clipLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func (m *meta) trafficShow(addr, dir, id string, jsonOut bool) int {
	rows, ok := m.joined(dir, false)
	if !ok {
		return exitError
	}
	for _, r := range rows {
		if r.RequestID != id {
			continue
		}
		if jsonOut {
			b, _ := json.MarshalIndent(map[string]any{"format_version": render.JSONFormatVersion, "address": addr, "exchange": r}, "", "  ")
			fmt.Fprintln(m.stdout, string(b))
			return exitOK
		}
		w := m.stdout
		fmt.Fprintf(w, "%s  %s\n", r.RequestID, r.Time.Local().Format("2006-01-02 15:04:05"))
		fmt.Fprintf(w, "  deployment %s, revision %d, %s, model %q\n", addr, r.Revision, r.Path, r.Model)
		fmt.Fprintf(w, "  status %d, %.1f ms, %d prompt + %d completion tokens", r.Status, r.LatencyMS, r.PromptTokens, r.CompletionTokens)
		if r.Stream {
			fmt.Fprint(w, ", streamed")
		}
		fmt.Fprintln(w)
		if r.Prompt != "" {
			fmt.Fprintf(w, "\nPrompt:\n%s\n", indent(r.Prompt))
		}
		for _, msg := range r.Messages {
			fmt.Fprintf(w, "\n%s:\n%s\n", msg.Role, indent(msg.Content))
		}
		fmt.Fprintf(w, "\nCompletion:\n%s\n", indent(r.Completion))
		if r.Truncated {
			fmt.Fprintln(w, "  (truncated: the response was longer than the capture keeps)")
		}
		if f := r.Feedback; f != nil {
			fmt.Fprintf(w, "\nFeedback (%s):", f.Time.Local().Format("2006-01-02 15:04:05"))
			if f.Rating != nil {
				fmt.Fprintf(w, " rating %s", strconv.FormatFloat(*f.Rating, 'g', -1, 64))
			}
			fmt.Fprintln(w)
			if f.Correction != "" {
				fmt.Fprintf(w, "Correction:\n%s\n", indent(f.Correction))
			}
		}
		return exitOK
	}
	return m.errorDetail("No such exchange", fmt.Sprintf("%s captured no request %s (only a sample of requests is captured; `llmops traffic ls %s` lists them).", addr, id, addr))
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

func (m *meta) trafficExport(dir, out string, sealedOnly bool, minRating *float64) int {
	rows, ok := m.joined(dir, sealedOnly)
	if !ok {
		return exitError
	}
	var w io.Writer = m.stdout
	if out != "" {
		f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return m.errorDetail("Cannot write the export", err.Error())
		}
		defer f.Close()
		w = f
	}
	n := 0
	for _, r := range rows {
		if minRating != nil && (r.Feedback == nil || r.Feedback.Rating == nil || *r.Feedback.Rating < *minRating) {
			continue
		}
		b, err := json.Marshal(r)
		if err != nil {
			return m.errorDetail("Cannot export", err.Error())
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return m.errorDetail("Cannot write the export", err.Error())
		}
		n++
	}
	if out != "" {
		fmt.Fprintf(m.stderr, "Exported %d exchanges to %s.\n", n, out)
	}
	return exitOK
}
