package engine

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/engine/plans"
	"github.com/llmops/llmops/engine/secrets"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/state"
)

var update = flag.Bool("update", false, "rewrite the want.txt files of testdata/scenarios")

// TestScenarios runs every folder of testdata/scenarios through the
// engine against the in-process test provider, and compares what happened
// with the folder's want.txt.
//
// A scenario is a sequence of steps: folders step1, step2, ... (or the
// scenario folder itself for a single step), each holding the
// configuration (*.llmops.hcl) of that step and optionally a file
// `options` with one option per line:
//
//	replace ADDR      -replace
//	target ADDR       -target
//	var NAME=VALUE    -var
//	destroy           a destroy plan
//	plan-only         plan, do not apply
//	rollback ADDR N   plan a rollback of ADDR to serial N (and apply it)
//	import ADDR ID    import ID at ADDR instead of planning
//	forget ID         delete the object ID from the provider's reality first
//	no-wait           apply with -wait=false
//	no-key            no state key
//	validate          validate the configuration instead of planning
//	graph             write the dependency graph (DOT) instead of planning
//	git-commit REPO DIR TAG  commit the step's folder DIR as the next commit of
//	                  the local git repository REPO (made on first use) and tag
//	                  it TAG; configurations name it @REPO_<REPO>@ (a file:// URL)
//	chdir DIR         run the step in the directory DIR of the scenario, with
//	                  its own state (another configuration)
//	workspace NAME    run the step in workspace NAME (its own state; NAME is
//	                  llmops.workspace)
//	init              fetch the git modules as `llmops init` does (the lock
//	                  file is kept between steps); init-upgrade as init -upgrade
//
// Each step plans against the state (and the provider's "reality") left by
// the steps before, then applies; want.txt records, per step, the plan
// (actions, reasons and planned values), the diagnostics, the apply's
// result and the state after it. `go test -run TestScenarios -update`
// rewrites want.txt.
func TestScenarios(t *testing.T) {
	dirs, err := filepath.Glob("testdata/scenarios/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			got := runScenario(t, dir)
			wantPath := filepath.Join(dir, "want.txt")
			if *update {
				if err := os.WriteFile(wantPath, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from what happened (-update rewrites it):\n%s", wantPath, lineDiff(string(want), got))
			}
		})
	}
}

func runScenario(t *testing.T, dir string) string {
	steps, _ := filepath.Glob(filepath.Join(dir, "step*"))
	sort.Slice(steps, func(i, j int) bool { return stepNum(steps[i]) < stepNum(steps[j]) })
	if len(steps) == 0 {
		steps = []string{dir}
	}
	h := newHarness(t)
	stores := map[string]state.Store{StateFile(h.dir, DefaultWorkspace): h.store}
	keep := map[string]bool{}
	var out strings.Builder
	for _, step := range steps {
		name := filepath.Base(step)
		if step == dir {
			name = "step1"
		}
		opts := readOptions(t, step)
		// The step runs in a directory (chdir) and workspace of its own,
		// each with its own state, or in the scenario's.
		hs := *h
		if opts.chdir != "" {
			hs.dir = filepath.Join(h.dir, opts.chdir)
			keep[opts.chdir] = true
			if err := os.MkdirAll(hs.dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		file := StateFile(hs.dir, opts.workspace)
		if stores[file] == nil {
			st, err := state.OpenSQLite(context.Background(), file)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			stores[file] = st
		}
		hs.store = stores[file]
		hs.keep = keep
		hs.useStep(t, step)
		fmt.Fprintf(&out, "== %s\n", name)
		if opts.chdir != "" || opts.workspace != "" {
			fmt.Fprintf(&out, "(in %s, workspace %s)\n", filepath.Join("$DIR", opts.chdir), orDefault(opts.workspace))
		}
		hs.runStep(t, &out, opts)
	}
	// Deposed keys and commit ids are random.
	got := deposedKeyRE.ReplaceAllString(out.String(), "deposed object KEY")
	got = normalizeCommits(got)
	return strings.ReplaceAll(got, h.dir, "$DIR")
}

var deposedKeyRE = regexp.MustCompile(`deposed object [0-9a-f]{8}`)

func orDefault(ws string) string {
	if ws == "" {
		return DefaultWorkspace
	}
	return ws
}

func stepNum(path string) int {
	var n int
	fmt.Sscanf(filepath.Base(path), "step%d", &n)
	return n
}

// useStep replaces the working directory's configuration with a step's:
// its configuration and vars files, and its directories (modules),
// copied whole.
func (h *harness) useStep(t *testing.T, step string) {
	old, _ := filepath.Glob(filepath.Join(h.dir, "*"+configs.FileSuffix))
	oldVars, _ := filepath.Glob(filepath.Join(h.dir, "*"+VarsFileSuffix))
	for _, f := range append(old, oldVars...) {
		os.Remove(f)
	}
	entries, _ := os.ReadDir(h.dir)
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && !h.keep[e.Name()] {
			os.RemoveAll(filepath.Join(h.dir, e.Name()))
		}
	}
	subdirs, _ := os.ReadDir(step)
	for _, e := range subdirs {
		if e.IsDir() && !strings.HasPrefix(e.Name(), "step") && !strings.HasPrefix(e.Name(), "repo_") {
			if err := os.CopyFS(filepath.Join(h.dir, e.Name()), os.DirFS(filepath.Join(step, e.Name()))); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(step, "*"+configs.FileSuffix))
	if len(files) == 0 {
		t.Fatalf("%s has no configuration", step)
	}
	vars, _ := filepath.Glob(filepath.Join(step, "*"+VarsFileSuffix))
	files = append(files, vars...)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b = h.repoURLs(b)
		if err := os.WriteFile(filepath.Join(h.dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type stepOptions struct {
	plan     PlanOptions
	vars     []VarSource
	planOnly bool
	rollback *addrs.ResourceInstance
	toSerial int64
	importAt *addrs.ResourceInstance
	importID string
	forget   []string
	noWait   bool
	noKey    bool
	validate bool
	graph    bool
	// commits are git-commit lines (repo, dir, tag), done before init.
	commits [][3]string
	init    bool
	upgrade bool
	// chdir runs the step in a directory of the scenario's, workspace in
	// a workspace (each with its own state).
	chdir     string
	workspace string
}

func readOptions(t *testing.T, step string) stepOptions {
	var o stepOptions
	b, err := os.ReadFile(filepath.Join(step, "options"))
	if os.IsNotExist(err) {
		return o
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "replace", "target":
			pt, err := addrs.ParsePattern(f[1])
			if err != nil {
				t.Fatal(err)
			}
			if f[0] == "replace" {
				o.plan.Replace = append(o.plan.Replace, pt)
			} else {
				o.plan.Targets = append(o.plan.Targets, pt)
			}
		case "var":
			name, val, _ := strings.Cut(f[1], "=")
			o.vars = append(o.vars, VarSource{Name: name, Value: val})
		case "destroy":
			o.plan.Mode = plans.DestroyMode
		case "plan-only":
			o.planOnly = true
		case "rollback":
			a, err := addrs.ParseResourceInstance(f[1])
			if err != nil {
				t.Fatal(err)
			}
			o.rollback = &a
			fmt.Sscanf(f[2], "%d", &o.toSerial)
		case "import":
			a, err := addrs.ParseResourceInstance(f[1])
			if err != nil {
				t.Fatal(err)
			}
			o.importAt, o.importID = &a, f[2]
		case "forget":
			o.forget = append(o.forget, f[1])
		case "no-wait":
			o.noWait = true
		case "no-key":
			o.noKey = true
		case "validate":
			o.validate = true
		case "graph":
			o.graph = true
		case "git-commit":
			o.commits = append(o.commits, [3]string{f[1], filepath.Join(step, f[2]), f[3]})
		case "init":
			o.init = true
		case "chdir":
			o.chdir = f[1]
		case "workspace":
			o.workspace = f[1]
		case "init-upgrade":
			o.init, o.upgrade = true, true
		default:
			t.Fatalf("%s/options: unknown option %q", step, line)
		}
	}
	return o
}

// runStep plans and applies one step and writes what happened.
func (h *harness) runStep(t *testing.T, out *strings.Builder, o stepOptions) {
	for _, c := range o.commits {
		h.gitCommit(t, c[0], c[1], c[2])
	}
	if o.init && !h.initModules(t, out, o.upgrade) {
		return
	}
	cfg, diags := configs.LoadDir(h.dir)
	if diags.HasErrors() {
		writeDiags(out, diags)
		return
	}
	vars, diags := CollectVariables(cfg, o.vars, nil)
	if diags.HasErrors() {
		writeDiags(out, diags)
		return
	}
	var sealer values.Sealer
	if !o.noKey {
		sealer, _ = secrets.ParseKey("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	}
	e := New(Options{Config: cfg, Store: h.store, Variables: vars, ArtifactDir: filepath.Join(h.dir, ".llmops", "artifacts"), Workspace: o.workspace,
		Secrets: sealer, Providers: h.providers(), PollInterval: time.Millisecond, Parallelism: 1})
	defer e.Close()
	ctx := context.Background()
	for _, id := range o.forget {
		h.prov.mu.Lock()
		delete(h.prov.objects, id)
		h.prov.mu.Unlock()
	}
	if o.validate {
		writeDiags(out, e.Validate(ctx))
		return
	}
	if o.graph {
		dot, diags := e.GraphDOT(ctx)
		out.WriteString(dot)
		writeDiags(out, diags)
		return
	}
	if o.importAt != nil {
		_, diags := e.Import(ctx, *o.importAt, o.importID, ApplyOptions{Who: "test", Command: "import"})
		writeDiags(out, diags)
		writeState(t, out, h.store)
		return
	}
	var p *plans.Plan
	if o.rollback != nil {
		p, diags = e.PlanRollback(ctx, []addrs.ResourceInstance{*o.rollback}, o.toSerial)
	} else {
		evs, err := h.store.Events(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		o.plan.Pins = history.ActivePins(evs)
		p, diags = e.Plan(ctx, o.plan)
	}
	if p != nil {
		writePlan(out, p)
	}
	if diags.HasErrors() || p == nil || o.planOnly {
		writeDiags(out, diags)
		return
	}
	res, ds := e.Apply(ctx, p, ApplyOptions{Who: "test", Command: "apply", NoWait: o.noWait})
	writeDiags(out, append(diags, ds...))
	if res != nil {
		writeResult(out, res)
	}
	writeState(t, out, h.store)
}

func writePlan(out *strings.Builder, p *plans.Plan) {
	out.WriteString("plan:\n")
	for _, n := range p.Notes {
		fmt.Fprintf(out, "  note: %s\n", n)
	}
	for _, c := range p.Drift {
		fmt.Fprintf(out, "  drift %s: %s\n", c.Addr, c.Action)
	}
	for _, c := range p.DataReads {
		if c.Reason == plans.ReasonReadDuringApply {
			fmt.Fprintf(out, "  %s: read during apply\n    %s\n", c.Addr, showObject(c.After))
			continue
		}
		fmt.Fprintf(out, "  %s: read\n    %s\n", c.Addr, showObject(c.After))
	}
	for _, c := range append(append([]*plans.ResourceInstanceChange(nil), p.Changes...), p.Deposed...) {
		reason := ""
		if c.Reason != plans.ReasonNone {
			reason = " (" + string(c.Reason) + ")"
		}
		if c.DeposedKey != "" {
			reason += " deposed"
		}
		if c.PrevAddr != nil {
			reason += " moved from " + c.PrevAddr.String()
		}
		if c.Provider.Alias != "" {
			reason += " via " + c.Provider.String()
		}
		fmt.Fprintf(out, "  %s: %s%s\n", c.Addr, c.Action, reason)
		if c.Action != plans.NoOp && c.Action != plans.Delete {
			fmt.Fprintf(out, "    %s\n", showObject(c.After))
		}
	}
}

func writeDiags(out *strings.Builder, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	sorted := append(hcl.Diagnostics(nil), diags...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if (a.Subject == nil) != (b.Subject == nil) {
			return a.Subject != nil
		}
		if a.Subject != nil && a.Subject.Start.Line != b.Subject.Start.Line {
			return a.Subject.Start.Line < b.Subject.Start.Line
		}
		return a.Summary < b.Summary
	})
	out.WriteString("diagnostics:\n")
	for _, d := range sorted {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		where := ""
		if d.Subject != nil {
			name := filepath.ToSlash(d.Subject.Filename)
			if filepath.IsAbs(d.Subject.Filename) {
				name = filepath.Base(d.Subject.Filename)
			}
			where = fmt.Sprintf(" [%s:%d]", name, d.Subject.Start.Line)
		}
		fmt.Fprintf(out, "  %s: %s%s\n", sev, d.Summary, where)
		for _, l := range strings.Split(d.Detail, "\n") {
			if strings.TrimSpace(l) != "" {
				fmt.Fprintf(out, "    %s\n", l)
			}
		}
	}
}

func writeResult(out *strings.Builder, res *ApplyResult) {
	c := res.Counts
	fmt.Fprintf(out, "apply: added %d, changed %d, replaced %d, destroyed %d, failed %d, serial %d\n", c.Added, c.Changed, c.Replaced, c.Destroyed, len(res.Failed), res.Serial)
	for _, s := range res.Skipped {
		fmt.Fprintf(out, "  skipped %s\n", s)
	}
	for _, s := range res.StillPending {
		fmt.Fprintf(out, "  still pending %s\n", s)
	}
}

func writeState(t *testing.T, out *strings.Builder, st state.Store) {
	snap, err := st.Snapshot(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(out, "state (serial %d):\n", snap.Serial)
	for _, o := range append(append([]*state.Object(nil), snap.Objects...), snap.Deposed...) {
		v, err := values.DecodeSealed(values.Encoded{Value: o.ValueJSON, Type: o.TypeJSON, Sensitive: o.SensitivePaths}, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := st.ObjectHistory(context.Background(), o.Addr)
		if err != nil {
			t.Fatal(err)
		}
		extra := fmt.Sprintf(" rows=%d", len(rows))
		if o.Deposed != "" {
			extra = " deposed"
		}
		if o.PendingHandle != "" {
			extra += " handle=" + o.PendingHandle
		}
		fmt.Fprintf(out, "  %s [%s%s] %s\n", o.Addr, o.Status, extra, showObject(v))
	}
}

// showObject renders an object's non-null attributes in name order.
func showObject(v cty.Value) string {
	if v == cty.NilVal || v.IsNull() {
		return "null"
	}
	if !v.IsKnown() {
		return "(known after apply)"
	}
	u, marks := v.Unmark()
	if len(marks) > 0 {
		return "(sensitive)"
	}
	if !u.Type().IsObjectType() {
		return showValue(v, nil, nil)
	}
	var names []string
	for n := range u.Type().AttributeTypes() {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		a := u.GetAttr(n)
		if a.IsKnown() && a.IsNull() {
			continue
		}
		parts = append(parts, n+"="+showAttr(a))
	}
	return strings.Join(parts, " ")
}

func showAttr(v cty.Value) string {
	if v.IsMarked() {
		return "(sensitive)"
	}
	if !v.IsWhollyKnown() {
		return "(known after apply)"
	}
	if v.ContainsMarked() {
		return "(sensitive)"
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return v.GoString()
	}
	return string(b)
}

// lineDiff shows the lines of want and got that differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want: %s\n   got: %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}
