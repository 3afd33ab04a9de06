package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/pmezard/go-difflib/difflib"

	"github.com/llmops/llmops/engine"
	"github.com/llmops/llmops/engine/configs"
)

const fmtUsage = `
Usage: llmops fmt [options] [FILE or DIR ...]

Rewrites *.llmops.hcl and *.llmops.vars files in the canonical format
(default: those in the working directory). Lists the files it changed.

Exit codes: 0 success; 1 error (such as a syntax error); 3 with -check
when some file is not formatted.
`

func runFmt(m *meta, args []string) int {
	fs := m.newFlags("fmt", fmtUsage)
	check := fs.Bool("check", false, "Only check: exit 3 if any file needs formatting, change nothing.")
	diff := fs.Bool("diff", false, "Print a unified diff of the changes.")
	write := fs.Bool("write", true, "Write the result back to the files (-write=false to only list them).")
	recursive := fs.Bool("recursive", false, "Also format files in subdirectories.")
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	targets := fs.Args()
	if len(targets) == 0 {
		targets = []string{"."}
	}
	var files []string
	for _, t := range targets {
		st, err := os.Stat(t)
		if err != nil {
			return m.errorDetail("Cannot read "+t, err.Error())
		}
		if !st.IsDir() {
			files = append(files, t)
			continue
		}
		filepath.WalkDir(t, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() {
				if p != t && (!*recursive || strings.HasPrefix(d.Name(), ".")) {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(p, configs.FileSuffix) || strings.HasSuffix(p, engine.VarsFileSuffix) {
				files = append(files, p)
			}
			return nil
		})
	}
	sort.Strings(files)
	changed := 0
	var diags hcl.Diagnostics
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return m.errorDetail("Cannot read "+f, err.Error())
		}
		if ds := configs.CheckNesting(src, f); ds.HasErrors() {
			m.sources = map[string][]byte{f: src}
			diags = append(diags, ds...)
			continue
		}
		if _, ds := hclsyntax.ParseConfig(src, f, hcl.InitialPos); ds.HasErrors() {
			m.sources = map[string][]byte{f: src}
			diags = append(diags, ds...)
			continue
		}
		out := hclwrite.Format(src)
		if bytes.Equal(src, out) {
			continue
		}
		changed++
		fmt.Fprintln(m.stdout, f)
		if *diff {
			ud, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
				A: difflib.SplitLines(string(src)), B: difflib.SplitLines(string(out)),
				FromFile: "old/" + f, ToFile: "new/" + f, Context: 3,
			})
			fmt.Fprint(m.stdout, ud)
		}
		if *write && !*check {
			if err := os.WriteFile(f, out, 0o644); err != nil {
				return m.errorDetail("Cannot write "+f, err.Error())
			}
		}
	}
	if diags.HasErrors() {
		m.showDiags(diags)
		return exitError
	}
	if *check && changed > 0 {
		return 3
	}
	return exitOK
}
