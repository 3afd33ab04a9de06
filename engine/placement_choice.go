package engine

import (
	"fmt"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/plans"
)

// pickCandidate picks among the acceptable candidates: the first
// ("ordered"), or the cheapest ("cheapest"; on equal prices the earlier
// candidate wins).
func pickCandidate(choices []*candidateChoice, rules placementRules, refused map[addrs.ProviderConfig]string) *candidateChoice {
	var pick *candidateChoice
	for _, c := range choices {
		if c.reason != "" || c.offer == nil {
			continue
		}
		if _, out := refused[c.addr]; out {
			continue
		}
		if pick == nil || (rules.strategy == "cheapest" && c.offer.PricePerHour < pick.offer.PricePerHour) {
			pick = c
		}
		if rules.strategy == "ordered" {
			break
		}
	}
	return pick
}

// rejection says why a candidate was not picked, with what it offered:
// whether it can run the object now and at what price.
func rejection(c, pick *candidateChoice, rules placementRules, refused map[addrs.ProviderConfig]string) plans.PlacementRejection {
	r := plans.PlacementRejection{Candidate: c.addr.String(), Reason: c.reason}
	if c.offer != nil {
		r.CanRunNow = c.offer.Available
		if c.offer.Available || c.offer.PricePerHour > 0 {
			p := c.offer.PricePerHour
			r.PricePerHour = &p
		}
	}
	if r.Reason != "" {
		return r
	}
	switch why, out := refused[c.addr]; {
	case out:
		r.Reason = why
	case rules.strategy == "ordered":
		r.Reason = "an earlier candidate can run it"
	case pick != nil && c.offer.PricePerHour == pick.offer.PricePerHour:
		r.Reason = fmt.Sprintf("same price (%.2f/h); the earlier candidate wins a tie", c.offer.PricePerHour)
	default:
		r.Reason = fmt.Sprintf("dearer (%.2f/h)", c.offer.PricePerHour)
	}
	return r
}
