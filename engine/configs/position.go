package configs

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// Pos renders where a range starts as file:line:col, the form every
// llmops message uses.
func Pos(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}
