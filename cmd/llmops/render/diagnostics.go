package render

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
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
// sources maps file names to their contents, for the source line.
func Diagnostics(w io.Writer, diags hcl.Diagnostics, sources map[string][]byte, c *Colors) {
	for _, d := range diags {
		Diagnostic(w, d, sources, c)
	}
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
