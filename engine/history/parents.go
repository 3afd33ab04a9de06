package history

import (
	"sort"
	"strings"

	"github.com/llmops/llmops/addrs"
)

// minToken is the shortest string that can name an instance: ids,
// digests, paths and endpoints are longer, while short words ("lora",
// "ready") are too common to say which instance a value came from.
const minToken = 8

// parentIndex finds the instances an object was made from. The state
// records dependencies per resource (training_run.sweep), not per
// instance (training_run.sweep["hi"]), so where a dependency has several
// instances the index looks for the one whose identity (an id, digest,
// output model, path... that no sibling shares) appears in the object's
// own values: evaluation.e["hi"] whose model is
// training_run.sweep["hi"].output_model was made from that instance only.
// When no instance's identity appears (the object used them all, or only
// through depends_on), every instance is a parent, as recorded.
//
// Failing that, an instance that shares an input with the object is
// picked: a deployment of training_run.sweep["hi"].output_model that
// depends_on evaluation.e was let through by evaluation.e["hi"], the one
// that evaluated the same model.
type parentIndex struct {
	objs  map[addrs.ResourceInstance]*Object
	byRes map[addrs.Resource][]*Object
	// tokens and shared are tokensOf's answers without and with inputs.
	tokens, shared map[addrs.Resource]map[string]*Object
}

func newParentIndex(objs map[addrs.ResourceInstance]*Object) *parentIndex {
	ix := &parentIndex{objs: objs, byRes: map[addrs.Resource][]*Object{},
		tokens: map[addrs.Resource]map[string]*Object{}, shared: map[addrs.Resource]map[string]*Object{}}
	for _, o := range objs {
		// Dependencies are configuration addresses: an object in a module
		// instance is found under its block's address.
		r := o.Addr.Resource.Config()
		ix.byRes[r] = append(ix.byRes[r], o)
	}
	for _, l := range ix.byRes {
		sort.Slice(l, func(i, j int) bool { return l[i].Addr.Less(l[j].Addr) })
	}
	return ix
}

// parents returns the objects o was made from, in address order.
func (ix *parentIndex) parents(o *Object) []*Object {
	deps := append([]addrs.Resource(nil), o.Dependencies...)
	sort.Slice(deps, func(i, j int) bool { return deps[i].Less(deps[j]) })
	var out []*Object
	var mine []string
	for _, d := range deps {
		insts := ix.byRes[d]
		if len(insts) <= 1 {
			out = append(out, insts...)
			continue
		}
		if mine == nil {
			mine = StringsOf(o.Value)
		}
		if picked := ix.pick(d, mine); len(picked) > 0 {
			out = append(out, picked...)
		} else {
			out = append(out, insts...)
		}
	}
	return out
}

// pick returns the instances of d whose identity appears among strs:
// first by whole values (model = training_run.x.output_model), else
// inside longer strings (a command line with --model=ID), else those
// sharing a whole value with strs, inputs included.
func (ix *parentIndex) pick(d addrs.Resource, strs []string) []*Object {
	found := map[*Object]bool{}
	toks := ix.tokensOf(d, false)
	for _, s := range strs {
		if p := toks[s]; p != nil {
			found[p] = true
		}
	}
	if len(found) == 0 {
		for _, s := range strs {
			if len(s) <= minToken {
				continue
			}
			for t, p := range toks {
				if strings.Contains(s, t) {
					found[p] = true
				}
			}
		}
	}
	if len(found) == 0 {
		shared := ix.tokensOf(d, true)
		for _, s := range strs {
			if p := shared[s]; p != nil {
				found[p] = true
			}
		}
	}
	var out []*Object
	for _, p := range ix.byRes[d] {
		if found[p] {
			out = append(out, p)
		}
	}
	return out
}

// tokensOf maps each string that identifies one instance of d to that
// instance: strings of at least minToken bytes that no other instance of
// d has. Without withInputs it leaves out those the instance took from
// its own inputs (a dataset id every sweep run shares is not a run's
// identity, nor is one only this run trained on).
func (ix *parentIndex) tokensOf(d addrs.Resource, withInputs bool) map[string]*Object {
	cache := ix.tokens
	if withInputs {
		cache = ix.shared
	}
	if t, ok := cache[d]; ok {
		return t
	}
	count := map[string]int{}
	owner := map[string]*Object{}
	for _, p := range ix.byRes[d] {
		inputs := map[string]bool{}
		for _, dd := range p.Dependencies {
			if withInputs {
				break
			}
			for _, q := range ix.byRes[dd] {
				for _, s := range StringsOf(q.Value) {
					inputs[s] = true
				}
			}
		}
		seen := map[string]bool{}
		for _, s := range StringsOf(p.Value) {
			if len(s) < minToken || seen[s] || inputs[s] {
				continue
			}
			seen[s] = true
			count[s]++
			owner[s] = p
		}
	}
	t := map[string]*Object{}
	for s, n := range count {
		if n == 1 {
			t[s] = owner[s]
		}
	}
	cache[d] = t
	return t
}
