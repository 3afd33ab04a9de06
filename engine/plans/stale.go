package plans

import (
	"fmt"
	"sort"
)

// StaleError says why a saved plan no longer applies: something it was
// made against changed since. Summary and Detail are written for the
// user (what changed, then what to do).
type StaleError struct {
	Summary string
	Detail  string
}

func (e *StaleError) Error() string { return e.Summary + ": " + e.Detail }

// CheckState refuses a plan made against another state (lineage) or
// another version of it (serial). An empty lineage in the plan (a plan
// made before the state had one) matches any.
func (p *Plan) CheckState(lineage string, serial int64) error {
	if p.Lineage != "" && p.Lineage != lineage {
		return &StaleError{"Saved plan is for a different state",
			fmt.Sprintf("The plan was made against state lineage %s, but this state is %s. Plan again against this state.", p.Lineage, lineage)}
	}
	if p.PrevSerial != serial {
		return &StaleError{"Saved plan is stale",
			fmt.Sprintf("The state has changed since the plan was made (serial %d then, %d now). Run plan again.", p.PrevSerial, serial)}
	}
	return nil
}

// CheckConfig refuses a plan made from other configuration files (digest
// is configs.Config.Digest).
func (p *Plan) CheckConfig(digest string) error {
	if p.ConfigDigest != digest {
		return &StaleError{"Saved plan is stale: the configuration changed",
			fmt.Sprintf("The *.llmops.hcl files differ from when the plan was made (digest %s then, %s now). Plan again with -out.", p.ConfigDigest, digest)}
	}
	return nil
}

// CheckProviders refuses a plan when the binary of a provider it was made
// with changed; hash returns a provider type's current sha256. Types are
// checked in sorted order, so the same plan gives the same answer.
func (p *Plan) CheckProviders(hash func(typ string) (string, error)) error {
	types := make([]string, 0, len(p.ProviderHashes))
	for t := range p.ProviderHashes {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		want := p.ProviderHashes[t]
		got, err := hash(t)
		if err != nil {
			got = fmt.Sprintf("unknown (%v)", err)
		}
		if got != want {
			return &StaleError{"Saved plan is stale: a provider changed",
				fmt.Sprintf("The binary of provider %s differs from when the plan was made (%s then, %s now). Plan again with -out.", t, want, got)}
		}
	}
	return nil
}
