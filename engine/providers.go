package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/configs"
	"github.com/llmops/llmops/plugins/sdk/protocol"
	"github.com/llmops/llmops/schema"
)

// ProviderFactory starts providers. The engine starts one instance per
// provider configuration (type and alias) and closes it when done.
type ProviderFactory interface {
	StartProvider(ctx context.Context, addr addrs.ProviderConfig) (protocol.Provider, error)
}

// ProviderHasher is implemented by factories that can name the hash of the
// binary behind each provider type, recorded in saved plans.
type ProviderHasher interface {
	ProviderHash(typ string) (string, error)
}

// FactoryFunc adapts a function to ProviderFactory.
type FactoryFunc func(ctx context.Context, addr addrs.ProviderConfig) (protocol.Provider, error)

func (f FactoryFunc) StartProvider(ctx context.Context, addr addrs.ProviderConfig) (protocol.Provider, error) {
	return f(ctx, addr)
}

type providerInstance struct {
	addr   addrs.ProviderConfig
	client protocol.Provider
	schema *protocol.GetSchemaResponse

	configureOnce sync.Once
	configDiags   hcl.Diagnostics
}

// providerSet holds the started provider instances of one engine run.
type providerSet struct {
	factory ProviderFactory
	// builtin serves BuiltinProviderType.
	builtin protocol.Provider
	mu      sync.Mutex
	byAddr  map[addrs.ProviderConfig]*providerInstance
	schemas map[string]*protocol.GetSchemaResponse
}

func newProviderSet(f ProviderFactory) *providerSet {
	return &providerSet{factory: f, byAddr: map[addrs.ProviderConfig]*providerInstance{}, schemas: map[string]*protocol.GetSchemaResponse{}}
}

// get starts the provider for addr if needed and returns it with its schema.
func (ps *providerSet) get(ctx context.Context, addr addrs.ProviderConfig) (*providerInstance, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if pi, ok := ps.byAddr[addr]; ok {
		return pi, nil
	}
	var client protocol.Provider
	if addr.Type == BuiltinProviderType && ps.builtin != nil {
		client = ps.builtin
	} else {
		var err error
		if client, err = ps.factory.StartProvider(ctx, addr); err != nil {
			return nil, err
		}
	}
	pi := &providerInstance{addr: addr, client: client}
	if s, ok := ps.schemas[addr.Type]; ok {
		pi.schema = s
	} else {
		resp := client.GetSchema(ctx, protocol.GetSchemaRequest{})
		if resp.Diagnostics.HasErrors() {
			client.Close()
			return nil, fmt.Errorf("provider %s returned an error for its schema: %w", addr.Type, resp.Diagnostics.Err())
		}
		if problems := schema.CheckTypeNames(addr.Type, &resp); len(problems) > 0 && addr.Type != BuiltinProviderType {
			client.Close()
			return nil, fmt.Errorf("provider %s breaks the naming rule of llmops: %s", addr.Type, strings.Join(problems, " "))
		}
		pi.schema = &resp
		ps.schemas[addr.Type] = &resp
	}
	ps.byAddr[addr] = pi
	return pi, nil
}

func (ps *providerSet) stopAll(ctx context.Context) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, pi := range ps.byAddr {
		pi.client.StopProvider(ctx, protocol.StopProviderRequest{})
	}
}

func (ps *providerSet) closeAll() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	// Each Close waits for its process to exit: stop them all at once.
	var wg sync.WaitGroup
	for _, pi := range ps.byAddr {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pi.client.Close()
		}()
	}
	wg.Wait()
	ps.byAddr = map[addrs.ProviderConfig]*providerInstance{}
}

// resourceSchema returns the schema of typ from provider pi, or a
// diagnostic that lists the types the provider offers.
func (pi *providerInstance) resourceSchema(typ string, rng *hcl.Range) (*protocol.Schema, hcl.Diagnostics) {
	if s, ok := pi.schema.ResourceTypes[typ]; ok && s.Block != nil {
		return s, nil
	}
	var names []string
	for n := range pi.schema.ResourceTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	detail := fmt.Sprintf("The provider %s does not offer %q. It offers: %s.", pi.addr.Type, typ, strings.Join(names, ", "))
	if s := suggest(typ, names); s != "" {
		detail = fmt.Sprintf("The provider %s does not offer %q. Did you mean %q?", pi.addr.Type, typ, s)
	}
	return nil, hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Unsupported resource type",
		Detail:   detail,
		Subject:  rng,
	}}
}

// DecoderSpec builds the hcldec spec that decodes a body against b.
// Computed-only attributes are not settable and are left out, so setting
// one is reported as an unsupported argument.
func DecoderSpec(b *protocol.Block) hcldec.ObjectSpec {
	spec := hcldec.ObjectSpec{}
	for name, a := range b.Attributes {
		if a.Computed && !a.Optional && !a.Required {
			continue
		}
		spec[name] = &hcldec.AttrSpec{Name: name, Type: a.Type, Required: a.Required}
	}
	for name, nb := range b.BlockTypes {
		inner := DecoderSpec(&nb.Block)
		switch nb.Nesting {
		case protocol.NestingSingle:
			spec[name] = &hcldec.BlockSpec{TypeName: name, Nested: inner, Required: nb.MinItems > 0}
		case protocol.NestingList:
			if nb.Block.ImpliedType().HasDynamicTypes() {
				spec[name] = &hcldec.BlockTupleSpec{TypeName: name, Nested: inner, MinItems: nb.MinItems, MaxItems: nb.MaxItems}
			} else {
				spec[name] = &hcldec.BlockListSpec{TypeName: name, Nested: inner, MinItems: nb.MinItems, MaxItems: nb.MaxItems}
			}
		case protocol.NestingSet:
			spec[name] = &hcldec.BlockSetSpec{TypeName: name, Nested: inner, MinItems: nb.MinItems, MaxItems: nb.MaxItems}
		case protocol.NestingMap:
			if nb.Block.ImpliedType().HasDynamicTypes() {
				spec[name] = &hcldec.BlockObjectSpec{TypeName: name, Nested: inner, LabelNames: []string{"key"}}
			} else {
				spec[name] = &hcldec.BlockMapSpec{TypeName: name, Nested: inner, LabelNames: []string{"key"}}
			}
		}
	}
	return spec
}

// completeObject fills the attributes that the decoder spec left out
// (computed-only ones) with nulls, so v conforms to b's implied type.
func completeObject(b *protocol.Block, v cty.Value) cty.Value {
	if v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() {
		return v
	}
	vals := v.AsValueMap()
	if vals == nil {
		vals = map[string]cty.Value{}
	}
	for name, a := range b.Attributes {
		if _, ok := vals[name]; !ok {
			vals[name] = cty.NullVal(a.Type)
		}
	}
	for name, nb := range b.BlockTypes {
		cur, ok := vals[name]
		if !ok {
			continue
		}
		if nb.Nesting == protocol.NestingSingle {
			vals[name] = completeObject(&nb.Block, cur)
		}
	}
	return cty.ObjectVal(vals)
}

// suggest returns the candidate closest to s, if close enough.
func suggest(s string, candidates []string) string {
	best, bestD := "", 4
	for _, c := range candidates {
		if d := levenshtein(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// dataSchema returns the schema of data source typ from provider pi, or
// a diagnostic that lists the data sources the provider offers.
func (pi *providerInstance) dataSchema(typ string, rng *hcl.Range) (*protocol.Schema, hcl.Diagnostics) {
	if s, ok := pi.schema.DataSources[typ]; ok && s.Block != nil {
		return s, nil
	}
	var names []string
	for n := range pi.schema.DataSources {
		names = append(names, n)
	}
	sort.Strings(names)
	offers := strings.Join(names, ", ")
	if offers == "" {
		offers = "none"
	}
	detail := fmt.Sprintf("The provider %s has no data source %q. Its data sources: %s.", pi.addr.Type, typ, offers)
	if s := suggest(typ, names); s != "" {
		detail = fmt.Sprintf("The provider %s has no data source %q. Did you mean %q?", pi.addr.Type, typ, s)
	}
	return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unsupported data source", Detail: detail, Subject: rng}}
}

// schemaOf is the schema of a configured resource or data source.
func (pi *providerInstance) schemaOf(r *configs.Resource) (*protocol.Schema, hcl.Diagnostics) {
	if r.Addr.IsData() {
		return pi.dataSchema(r.Addr.Type, r.TypeRange.Ptr())
	}
	return pi.resourceSchema(r.Addr.Type, r.TypeRange.Ptr())
}
