package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/llmops/llmops/engine/history"
	"github.com/llmops/llmops/engine/plans"
)

// Lineage writes an ancestry tree.
func Lineage(w io.Writer, n *history.Node, c *Colors) {
	var b strings.Builder
	writeNode(&b, n, "", "", c)
	io.WriteString(w, b.String())
}

func writeNode(b *strings.Builder, n *history.Node, first, rest string, c *Colors) {
	line := fmt.Sprintf("%s%s  v%d (serial %d)", first, c.Bold(n.Addr), n.Version, n.Serial)
	if n.Status != "" && n.Status != "ready" {
		line += " " + c.Warn(n.Status)
	}
	b.WriteString(line + "\n")
	if n.Digest != "" {
		b.WriteString(rest + "    digest: " + n.Digest + "\n")
	}
	for _, k := range SortedNames(n.Facts) {
		b.WriteString(rest + "    " + k + ": " + n.Facts[k] + "\n")
	}
	if n.Repeat {
		b.WriteString(rest + "    " + c.Dim("(inputs shown above)") + "\n")
		return
	}
	for i, p := range n.Parents {
		if i == len(n.Parents)-1 {
			writeNode(b, p, rest+"└── ", rest+"    ", c)
		} else {
			writeNode(b, p, rest+"├── ", rest+"│   ", c)
		}
	}
}

// Diff writes the differences between two state versions, as a plan's
// changes without the plan's wording.
func Diff(w io.Writer, p *plans.Plan, c *Colors) {
	var b strings.Builder
	for _, ch := range p.Changes {
		switch ch.Action {
		case plans.Create:
			fmt.Fprintf(&b, "  # %s was created\n", c.Bold(ch.Addr.String()))
		case plans.Delete:
			fmt.Fprintf(&b, "  # %s was destroyed\n", c.Bold(ch.Addr.String()))
		case plans.DeleteThenCreate:
			fmt.Fprintf(&b, "  # %s was replaced\n", c.Bold(ch.Addr.String()))
		default:
			fmt.Fprintf(&b, "  # %s was updated\n", c.Bold(ch.Addr.String()))
		}
		writeChangeBody(&b, ch, c)
	}
	io.WriteString(w, b.String())
}
