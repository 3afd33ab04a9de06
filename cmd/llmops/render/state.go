package render

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
)

// Object writes one recorded object as an HCL-like block, sensitive
// values hidden.
func Object(w io.Writer, addr addrs.ResourceInstance, v cty.Value, status string, c *Colors) {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s:", c.Bold(addr.String()))
	if status != "" && status != "ready" {
		fmt.Fprintf(&b, " (%s)", c.Warn(status))
	}
	b.WriteString("\n" + header(addr) + " {\n")
	d := &differ{b: &b, c: c, plain: true}
	m := objMap(v)
	keys := make([]string, 0, len(m))
	for k, ev := range m {
		if isNullish(ev) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	wd := keyWidth(keys, false)
	for _, k := range keys {
		b.WriteString("    " + pad(keyText(k, false), wd) + " = ")
		d.value(m[k], 1, symNone)
		b.WriteString("\n")
	}
	b.WriteString("}\n\n")
	io.WriteString(w, b.String())
}
