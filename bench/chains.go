package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// chainConfig writes the benchmark shape: resource r<i> has input
// { name = "r<i>", parent = r(i-10)'s output name or "root", lr, epochs },
// ten independent chains of depth N/10. changed marks every 100th
// resource's input as modified.
func chainConfig(n int, typ, ref string, changed bool) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		parent := `"root"`
		if i >= 10 {
			parent = fmt.Sprintf("%s.r%d.output.name", typ, i-10)
		}
		epochs := 3
		if changed && i%100 == 0 {
			epochs = 4
		}
		fmt.Fprintf(&b, "resource %q \"r%d\" {\n  input = { name = \"r%d\", parent = %s, lr = 0.0002, epochs = %d }\n}\n\n", typ, i, i, parent, epochs)
	}
	_ = ref
	return b.String()
}

func runSize(n int, llmops, binDir, tf string, pg *pgServer) []row {
	base, err := os.MkdirTemp("", fmt.Sprintf("llmops-bench-%d-", n))
	if err != nil {
		fatalf("%v", err)
	}
	defer os.RemoveAll(base)
	ldir := filepath.Join(base, "llmops")
	pdir := filepath.Join(base, "llmops-postgres")
	tdir := filepath.Join(base, "terraform")
	os.MkdirAll(ldir, 0o755)
	os.MkdirAll(pdir, 0o755)
	os.MkdirAll(tdir, 0o755)
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			fatalf("%v", err)
		}
	}
	lcfg := filepath.Join(ldir, "main.llmops.hcl")
	pcfg := filepath.Join(pdir, "main.llmops.hcl")
	tcfg := filepath.Join(tdir, "main.tf")
	schema := fmt.Sprintf("llmops_bench_%d_%d", n, os.Getpid())
	write(lcfg, chainConfig(n, "null_value", "", false))
	write(pcfg, backendBlock(schema)+chainConfig(n, "null_value", "", false))
	write(tcfg, chainConfig(n, "terraform_data", "", false))

	lenv := []string{"LLMOPS_PLUGIN_PATH=" + binDir, "NO_COLOR=1"}
	var penv []string
	if pg != nil {
		penv = append([]string{"DATABASE_URL=" + pg.url}, lenv...)
		defer pg.dropSchema(schema)
		if m := run(pdir, penv, llmops, "init"); m.err != nil {
			fatalf("llmops init (postgres): %v", m.err)
		}
	}
	tenv := []string{"TF_IN_AUTOMATION=1", "TF_CLI_CONFIG_FILE=/dev/null", "CHECKPOINT_DISABLE=1"}
	if m := run(ldir, lenv, llmops, "init"); m.err != nil {
		fatalf("llmops init: %v", m.err)
	}
	haveTF := tf != ""
	if haveTF {
		if m := run(tdir, tenv, tf, "init", "-input=false"); m.err != nil {
			fmt.Fprintf(os.Stderr, "terraform init failed, running the llmops half only: %v\n", m.err)
			haveTF = false
		}
	}
	type op struct {
		name   string
		before func()
		largs  []string
		targs  []string
	}
	ops := []op{
		{name: "apply from empty", largs: []string{"apply", "-auto-approve", "-parallelism=10"}, targs: []string{"apply", "-auto-approve", "-parallelism=10", "-input=false"}},
		{name: "no-op plan", largs: []string{"plan", "-detailed-exitcode"}, targs: []string{"plan", "-input=false", "-detailed-exitcode"}},
		{name: "plan, 1% changed", before: func() {
			write(lcfg, chainConfig(n, "null_value", "", true))
			write(pcfg, backendBlock(schema)+chainConfig(n, "null_value", "", true))
			write(tcfg, chainConfig(n, "terraform_data", "", true))
		}, largs: []string{"plan", "-detailed-exitcode"}, targs: []string{"plan", "-input=false", "-detailed-exitcode"}},
		{name: "destroy", largs: []string{"destroy", "-auto-approve", "-parallelism=10"}, targs: []string{"destroy", "-auto-approve", "-parallelism=10", "-input=false"}},
	}
	var rows []row
	for _, o := range ops {
		if o.before != nil {
			o.before()
		}
		r := row{n: n, op: o.name}
		r.llmops = run(ldir, lenv, llmops, o.largs...)
		if isChangesExit(r.llmops, o.largs) {
			r.llmops.err = nil
		}
		if pg != nil {
			m := run(pdir, penv, llmops, o.largs...)
			if isChangesExit(m, o.largs) {
				m.err = nil
			}
			r.pg = &m
		}
		if haveTF {
			m := run(tdir, tenv, tf, o.targs...)
			if isChangesExit(m, o.targs) {
				m.err = nil
			}
			r.tf = &m
		}
		fmt.Fprintf(os.Stderr, "N=%d %s: llmops %s", n, o.name, secs(r.llmops.wall))
		if r.pg != nil {
			fmt.Fprintf(os.Stderr, ", llmops on PostgreSQL %s", secs(r.pg.wall))
		}
		if r.tf != nil {
			fmt.Fprintf(os.Stderr, ", terraform %s", secs(r.tf.wall))
		}
		fmt.Fprintln(os.Stderr)
		rows = append(rows, r)
	}
	return rows
}

// isChangesExit: plan -detailed-exitcode exits 2 when there are changes.
func isChangesExit(m measurement, args []string) bool {
	if m.err == nil {
		return false
	}
	for _, a := range args {
		if a == "-detailed-exitcode" {
			return strings.Contains(m.err.Error(), "exit status 2")
		}
	}
	return false
}
