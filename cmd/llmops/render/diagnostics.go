package render

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Diagnostics writes each diagnostic as:
//
//	Error: Summary
//
//	  on file.llmops.hcl:3:5:
//	     3 |   inptu = "x"
//	       |   ^^^^^
//
//	Detail text.
//
// sources maps file names to their contents, for the source line. The
// diagnostics are written in the order of Sorted, so the same problems
// print the same way on every run.
func Diagnostics(w io.Writer, diags hcl.Diagnostics, sources map[string][]byte, c *Colors) {
	for _, d := range Sorted(diags) {
		Diagnostic(w, d, sources, c)
	}
}

// Sorted returns diags (a new slice; the diagnostics are shared) in a
// stable order that does not depend on the order the engine found them
// in, which parallel walks make vary from run to run: first those without
// a source location, then by file, line, column and end of their source
// range; ties by summary, detail and severity (errors first).
func Sorted(diags hcl.Diagnostics) hcl.Diagnostics {
	out := append(hcl.Diagnostics(nil), diags...)
	sort.SliceStable(out, func(i, j int) bool { return diagLess(out[i], out[j]) })
	return out
}

func diagLess(a, b *hcl.Diagnostic) bool {
	ra, rb := located(a), located(b)
	if (ra == nil) != (rb == nil) {
		return ra == nil
	}
	if ra != nil {
		if c := cmp.Or(
			cmp.Compare(ra.Filename, rb.Filename),
			cmp.Compare(ra.Start.Line, rb.Start.Line),
			cmp.Compare(ra.Start.Column, rb.Start.Column),
			cmp.Compare(ra.End.Line, rb.End.Line),
			cmp.Compare(ra.End.Column, rb.End.Column),
		); c != 0 {
			return c < 0
		}
	}
	return cmp.Or(
		cmp.Compare(a.Summary, b.Summary),
		cmp.Compare(a.Detail, b.Detail),
		cmp.Compare(a.Severity, b.Severity),
	) < 0
}

// located is the diagnostic's source range, or nil when it has none that
// names a file.
func located(d *hcl.Diagnostic) *hcl.Range {
	if d.Subject == nil || d.Subject.Filename == "" {
		return nil
	}
	return d.Subject
}

// Diagnostic writes one diagnostic.
func Diagnostic(w io.Writer, d *hcl.Diagnostic, sources map[string][]byte, c *Colors) {
	var b strings.Builder
	if d.Severity == hcl.DiagWarning {
		b.WriteString(c.Warn("Warning: "))
	} else {
		b.WriteString(c.Err("Error: "))
	}
	b.WriteString(c.Bold(d.Summary))
	b.WriteString("\n")
	if d.Subject != nil && d.Subject.Filename != "" {
		rng := *d.Subject
		fmt.Fprintf(&b, "\n  on %s:%d:%d:\n", rng.Filename, rng.Start.Line, rng.Start.Column)
		if line, ok := sourceLine(sources[rng.Filename], rng.Start.Line); ok {
			num := fmt.Sprintf("%d", rng.Start.Line)
			pad := strings.Repeat(" ", len(num))
			fmt.Fprintf(&b, "  %s | %s\n", num, expandTabs(line))
			start := rng.Start.Column
			end := rng.End.Column
			if rng.End.Line != rng.Start.Line {
				end = len(line) + 1
			}
			if end <= start {
				end = start + 1
			}
			prefix := caretPrefix(line, start)
			fmt.Fprintf(&b, "  %s | %s%s\n", pad, prefix, c.Err(strings.Repeat("^", end-start)))
		}
	}
	if d.Detail != "" {
		b.WriteString("\n")
		b.WriteString(d.Detail)
		b.WriteString("\n")
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

func sourceLine(src []byte, n int) (string, bool) {
	if src == nil || n < 1 {
		return "", false
	}
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for i := 1; sc.Scan(); i++ {
		if i == n {
			return strings.TrimRight(sc.Text(), "\r"), true
		}
	}
	return "", false
}

func expandTabs(s string) string { return strings.ReplaceAll(s, "\t", "  ") }

// caretPrefix returns the spaces that put a caret under column col (a
// 1-based byte column) of line, keeping tabs as they were expanded.
func caretPrefix(line string, col int) string {
	var b strings.Builder
	for i := 0; i < col-1 && i < len(line); i++ {
		if line[i] == '\t' {
			b.WriteString("  ")
		} else if line[i]&0xC0 != 0x80 {
			b.WriteByte(' ')
		}
	}
	return b.String()
}
