package configs

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Explain adds what to do to the generic diagnostics that HCL itself
// produces, which say what is wrong but not how to fix it. Diagnostics
// written by llmops already say so and pass through unchanged.
func Explain(diags hcl.Diagnostics) hcl.Diagnostics {
	for _, d := range diags {
		add := ""
		switch d.Summary {
		case "Unsupported argument":
			if !strings.Contains(d.Detail, "Did you mean") {
				add = "Remove it or correct its name; `llmops providers` lists the arguments each type accepts."
			}
		case "Missing required argument":
			add = "Add it to this block."
		case "Incorrect attribute value type", "Invalid value for input variable":
			add = "Change the value to the type shown."
		case "Unsupported attribute":
			if !strings.Contains(d.Detail, "Did you mean") {
				add = "Check the name; `llmops providers` lists the attributes of each type."
			}
		case "Unsupported block type":
			if !strings.Contains(d.Detail, "Top-level blocks") && !strings.Contains(d.Detail, "Did you mean") {
				add = "Remove the block or correct its type; `llmops providers` lists the blocks each type accepts."
			}
		case "Missing required block", "Too many blocks", "Insufficient blocks":
			add = "Check the number of these blocks against `llmops providers`."
		}
		if add != "" && !strings.Contains(d.Detail, add) {
			d.Detail = strings.TrimSpace(d.Detail + " " + add)
		}
	}
	return diags
}
