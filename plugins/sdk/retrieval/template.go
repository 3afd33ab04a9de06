package retrieval

import (
	"fmt"
	"strings"

	"github.com/llmops/llmops/schema"
)

// Fill puts the retrieved chunks (each as "[id] text", separated by a
// blank line) in the template's {{context}} and the question in its
// {{question}}. The values are inserted once: a placeholder inside the
// question or a chunk is not expanded.
func Fill(template string, hits []Hit, question string) string {
	var ctx strings.Builder
	for i, h := range hits {
		if i > 0 {
			ctx.WriteString("\n\n")
		}
		fmt.Fprintf(&ctx, "[%d] %s", h.ID, strings.TrimSpace(h.Text))
	}
	return schema.PlaceholderRE.ReplaceAllStringFunc(template, func(m string) string {
		switch schema.PlaceholderRE.FindStringSubmatch(m)[1] {
		case "context":
			return ctx.String()
		case "question":
			return question
		}
		return m
	})
}
