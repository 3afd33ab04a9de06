package history

import (
	"regexp"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/state"
)

// artifactRef matches artifact ids inside any string attribute.
var artifactRef = regexp.MustCompile(`sha256:[0-9a-f]{64}`)

// ArtifactRefs adds to refs every artifact id that appears in any string
// of any object of snap, deposed objects included.
func ArtifactRefs(snap *state.Snapshot, refs map[string]bool) error {
	for _, o := range append(snap.Objects[:len(snap.Objects):len(snap.Objects)], snap.Deposed...) {
		for _, m := range artifactRef.FindAll(o.ValueJSON, -1) {
			refs[string(m)] = true
		}
		// Values are JSON: ids inside strings are found above. Private
		// data may also name artifacts (the provider's bookkeeping).
		for _, m := range artifactRef.FindAll(o.Private, -1) {
			refs[string(m)] = true
		}
	}
	for _, out := range snap.Outputs {
		for _, m := range artifactRef.FindAll(out.ValueJSON, -1) {
			refs[string(m)] = true
		}
	}
	return nil
}

// StringsOf returns every string in v (for tests and callers holding
// decoded values).
func StringsOf(v cty.Value) []string {
	var out []string
	u, _ := v.UnmarkDeep()
	cty.Walk(u, func(_ cty.Path, x cty.Value) (bool, error) {
		if x.IsKnown() && !x.IsNull() && x.Type() == cty.String {
			out = append(out, x.AsString())
		}
		return true, nil
	})
	return out
}
