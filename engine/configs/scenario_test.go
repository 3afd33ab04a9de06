package configs

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/llmops/llmops/addrs"
)

var update = flag.Bool("update", false, "rewrite want.diags and want.config of testdata/load")

// TestLoadScenarios loads each folder of testdata/load (its *.llmops.hcl
// files, as `llmops` would) and compares what the loader reports with the
// files beside the input: want.diags lists every diagnostic as
// file:line:col: severity: summary, with its detail indented below, and
// want.config what was decoded (variables, locals, outputs, providers,
// resources and their meta-arguments, each with where it is declared).
func TestLoadScenarios(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/load/*")
	if len(dirs) == 0 {
		t.Fatal("no scenarios")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			cfg, diags := LoadDir(dir)
			golden(t, filepath.Join(dir, "want.diags"), diagsText(dir, diags))
			golden(t, filepath.Join(dir, "want.config"), configText(cfg))
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestLoadScenarios -update)", err)
	}
	if got != string(want) {
		t.Fatalf("%s differs\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// diagsText lists diagnostics sorted by file, line, column and summary,
// with the scenario's absolute directory written as <dir>.
func diagsText(dir string, diags hcl.Diagnostics) string {
	abs, _ := filepath.Abs(dir)
	sorted := append(hcl.Diagnostics(nil), diags...)
	key := func(d *hcl.Diagnostic) (string, int, int) {
		if d.Subject == nil {
			return "", 0, 0
		}
		return d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column
	}
	sort.SliceStable(sorted, func(i, j int) bool {
		fi, li, ci := key(sorted[i])
		fj, lj, cj := key(sorted[j])
		if fi != fj {
			return fi < fj
		}
		if li != lj {
			return li < lj
		}
		if ci != cj {
			return ci < cj
		}
		return sorted[i].Summary < sorted[j].Summary
	})
	var lines []string
	for _, d := range sorted {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		at := "-"
		if d.Subject != nil {
			at = fmt.Sprintf("%s:%d:%d", filepath.ToSlash(d.Subject.Filename), d.Subject.Start.Line, d.Subject.Start.Column)
		}
		line := fmt.Sprintf("%s: %s: %s", at, sev, d.Summary)
		if d.Detail != "" {
			line += "\n    " + strings.ReplaceAll(d.Detail, "\n", "\n    ")
		}
		lines = append(lines, strings.ReplaceAll(line, abs, "<dir>"))
	}
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

func pos(r hcl.Range) string { return fmt.Sprintf("%s:%d", r.Filename, r.Start.Line) }

// exprText is an expression's source text, or "-" when absent.
func exprText(cfg *Config, e hcl.Expression) string {
	if e == nil {
		return "-"
	}
	r := e.Range()
	src := cfg.Sources[r.Filename]
	if r.Start.Byte < 0 || r.End.Byte > len(src) || r.Start.Byte >= r.End.Byte {
		return "(no source)"
	}
	return string(src[r.Start.Byte:r.End.Byte])
}

func traversals(trs []hcl.Traversal) string {
	var out []string
	for _, tr := range trs {
		s := tr.RootName()
		for _, step := range tr[1:] {
			if a, ok := step.(hcl.TraverseAttr); ok {
				s += "." + a.Name
			}
		}
		out = append(out, s)
	}
	return "[" + strings.Join(out, " ") + "]"
}

func configText(cfg *Config) string {
	if cfg == nil {
		return "(no configuration)\n"
	}
	var b strings.Builder
	cfg.Walk(func(m *Config) {
		if m.Parent != nil {
			rel, _ := filepath.Rel(cfg.Dir, m.Dir)
			fmt.Fprintf(&b, "== %s (%s)\n", m.Path, filepath.ToSlash(rel))
		}
		moduleText(&b, cfg, m)
	})
	return b.String()
}

func moduleText(b *strings.Builder, root, cfg *Config) {
	var names []string
	for n := range cfg.ModuleCalls {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		mc := cfg.ModuleCalls[n]
		var in, ps []string
		for a := range mc.Inputs {
			in = append(in, a)
		}
		sort.Strings(in)
		for _, p := range mc.Providers {
			ps = append(ps, p.InChild.String()+"="+p.InParent.String())
		}
		fmt.Fprintf(b, "module %s at %s: source=%s count=%s for_each=%s depends_on=%s providers=%v inputs=%v\n",
			n, pos(mc.DeclRange), mc.Source, exprText(root, mc.Count), exprText(root, mc.ForEach), traversals(mc.DependsOn), ps, in)
	}
	for _, mv := range cfg.Moved {
		fmt.Fprintf(b, "moved at %s: %s -> %s\n", pos(mv.DeclRange), mv.From, mv.To)
	}
	names = names[:0]
	for n := range cfg.Variables {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := cfg.Variables[n]
		def := "(required)"
		if !v.Required() {
			def = v.Default.GoString()
		}
		fmt.Fprintf(b, "variable %s at %s: type=%s default=%s sensitive=%v nullable=%v validations=%d description=%q\n",
			n, pos(v.DeclRange), v.Type.FriendlyName(), def, v.Sensitive, v.Nullable, len(v.Validations), v.Description)
		for _, vl := range v.Validations {
			fmt.Fprintf(b, "  validation at %s: %s / %s\n", pos(vl.DeclRange), exprText(root, vl.Condition), exprText(root, vl.ErrorMessage))
		}
	}
	names = names[:0]
	for n := range cfg.Locals {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(b, "local %s at %s: %s\n", n, pos(cfg.Locals[n].DeclRange), exprText(root, cfg.Locals[n].Expr))
	}
	names = names[:0]
	for n := range cfg.Outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		o := cfg.Outputs[n]
		fmt.Fprintf(b, "output %s at %s: value=%s sensitive=%v depends_on=%s description=%q\n", n, pos(o.DeclRange), exprText(root, o.Expr), o.Sensitive, traversals(o.DependsOn), o.Description)
	}
	var pcs []addrs.ProviderConfig
	for pc := range cfg.ProviderConfigs {
		pcs = append(pcs, pc)
	}
	sort.Slice(pcs, func(i, j int) bool { return pcs[i].String() < pcs[j].String() })
	for _, pc := range pcs {
		p := cfg.ProviderConfigs[pc]
		if p.Implied {
			fmt.Fprintf(b, "provider %s (implied by %s)\n", pc, pos(p.DeclRange))
			continue
		}
		attrs, _ := p.Config.JustAttributes()
		var an []string
		for n := range attrs {
			an = append(an, n)
		}
		sort.Strings(an)
		fmt.Fprintf(b, "provider %s at %s: config=%v\n", pc, pos(p.DeclRange), an)
	}
	if cfg.Artifacts != nil {
		fmt.Fprintf(b, "artifacts at %s: path=%s\n", pos(cfg.Artifacts.DeclRange), exprText(root, cfg.Artifacts.Path))
	}
	for _, r := range cfg.SortedResources() {
		fmt.Fprintf(b, "%s at %s (type at %s): provider=%s count=%s for_each=%s depends_on=%s hashed=%v\n",
			r.Addr, pos(r.DeclRange), pos(r.TypeRange), r.Provider, exprText(root, r.Count), exprText(root, r.ForEach), traversals(r.DependsOn), strings.HasPrefix(r.SourceHash, "sha256:"))
		if lc := r.Lifecycle; lc.DeclRange != nil {
			fmt.Fprintf(b, "  lifecycle at %s: prevent_destroy=%s create_before_destroy=%s ignore_changes=%s\n",
				pos(*lc.DeclRange), exprText(root, lc.PreventDestroy), exprText(root, lc.CreateBeforeDestroy), exprText(root, lc.IgnoreChanges))
		}
		if pl := r.Placement; pl != nil {
			var cands []string
			for _, c := range pl.Candidates {
				cands = append(cands, c.String())
			}
			fmt.Fprintf(b, "  placement at %s: candidates=%v strategy=%s max_hourly_cost=%s\n", pos(pl.DeclRange), cands, exprText(root, pl.Strategy), exprText(root, pl.MaxHourlyCost))
		}
		attrs, _ := r.Config.JustAttributes()
		var an []string
		for n := range attrs {
			an = append(an, n)
		}
		sort.Strings(an)
		fmt.Fprintf(b, "  config=%v\n", an)
	}
}
