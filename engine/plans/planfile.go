package plans

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/addrs"
	"github.com/llmops/llmops/engine/values"
)

// FileFormat identifies saved plan files; FileVersion is bumped when the
// format changes incompatibly. Version 2 added the digest.
const (
	FileFormat  = "llmops-plan"
	FileVersion = 2
)

// envelope is a saved plan file: the plan, as JSON, and the sha256 of
// exactly those bytes, so that a plan edited or damaged after it was
// written (an action changed by hand, a truncated copy) is refused
// instead of applied. It is a checksum, not a signature: whoever can
// write the file can recompute it.
type envelope struct {
	Format  string          `json:"format"`
	Version int             `json:"version"`
	Digest  string          `json:"digest"`
	Plan    json.RawMessage `json:"plan"`
}

type fileChange struct {
	Addr                string          `json:"addr"`
	Provider            string          `json:"provider"`
	Action              Action          `json:"action"`
	Reason              Reason          `json:"reason,omitempty"`
	Before              values.Encoded  `json:"before"`
	After               values.Encoded  `json:"after"`
	RequiresReplace     json.RawMessage `json:"requires_replace,omitempty"`
	Private             []byte          `json:"private,omitempty"`
	PendingStatus       string          `json:"pending_status,omitempty"`
	PendingMessage      string          `json:"pending_message,omitempty"`
	Dependencies        []string        `json:"dependencies,omitempty"`
	CreateBeforeDestroy bool            `json:"create_before_destroy,omitempty"`
	Placement           *Placement      `json:"placement,omitempty"`
	PriorProvider       string          `json:"prior_provider,omitempty"`
	PrevAddr            string          `json:"prev_addr,omitempty"`
	DeposedKey          string          `json:"deposed_key,omitempty"`
	// Config is the configuration a rollback's change is planned with.
	Config *values.Encoded `json:"config,omitempty"`
}

type fileOutput struct {
	Name      string         `json:"name"`
	Action    Action         `json:"action"`
	Before    values.Encoded `json:"before"`
	After     values.Encoded `json:"after"`
	Sensitive bool           `json:"sensitive,omitempty"`
}

type file struct {
	Mode               Mode                      `json:"mode"`
	CreatedAt          time.Time                 `json:"created_at"`
	Lineage            string                    `json:"lineage"`
	PrevSerial         int64                     `json:"prev_serial"`
	ConfigDigest       string                    `json:"config_digest"`
	ProviderHashes     map[string]string         `json:"provider_hashes"`
	Variables          map[string]values.Encoded `json:"variables"`
	SensitiveVariables map[string]string         `json:"sensitive_variables,omitempty"`
	Targets            []string                  `json:"targets,omitempty"`
	Excludes           []string                  `json:"excludes,omitempty"`
	Replace            []string                  `json:"replace,omitempty"`
	Changes            []fileChange              `json:"changes"`
	Drift              []fileChange              `json:"drift,omitempty"`
	Deposed            []fileChange              `json:"deposed,omitempty"`
	DataReads          []fileChange              `json:"data_reads,omitempty"`
	Outputs            []fileOutput              `json:"outputs,omitempty"`
}

// WriteFile saves p to path (atomically, mode 0600). Sensitive values are
// sealed with s; without s, a plan holding sensitive values is refused.
func WriteFile(path string, p *Plan, s values.Sealer) error {
	if p.Errored {
		return fmt.Errorf("an incomplete plan cannot be saved")
	}
	f := file{
		Mode: p.Mode, CreatedAt: p.CreatedAt,
		Lineage: p.Lineage, PrevSerial: p.PrevSerial, ConfigDigest: p.ConfigDigest,
		ProviderHashes: p.ProviderHashes, Variables: map[string]values.Encoded{},
		SensitiveVariables: p.SensitiveVariables, Targets: p.Targets, Excludes: p.Excludes, Replace: p.Replace,
	}
	for n, v := range p.Variables {
		enc, err := values.Encode(v)
		if err != nil {
			return err
		}
		f.Variables[n] = enc
	}
	var err error
	if f.Changes, err = encodeChanges(p.Changes, s); err != nil {
		return err
	}
	if f.Drift, err = encodeChanges(p.Drift, s); err != nil {
		return err
	}
	if f.DataReads, err = encodeChanges(p.DataReads, s); err != nil {
		return err
	}
	if f.Deposed, err = encodeChanges(p.Deposed, s); err != nil {
		return err
	}
	for _, o := range p.Outputs {
		fo := fileOutput{Name: o.Name, Action: o.Action, Sensitive: o.Sensitive}
		before, after := o.Before, o.After
		if o.Sensitive {
			before, after = markSensitive(before), markSensitive(after)
		}
		if fo.Before, err = encodeSafe(before, s); err != nil {
			return err
		}
		if fo.After, err = encodeSafe(after, s); err != nil {
			return err
		}
		f.Outputs = append(f.Outputs, fo)
	}
	body, err := json.Marshal(&f)
	if err != nil {
		return err
	}
	b, err := json.Marshal(&envelope{Format: FileFormat, Version: FileVersion, Digest: digestOf(body), Plan: body})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".plan-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// encodeSafe encodes a value that may contain unknowns: unknown values
// cannot be JSON encoded, so they are stored as a marker type.
func encodeSafe(v cty.Value, s values.Sealer) (values.Encoded, error) {
	if v == cty.NilVal {
		v = cty.NullVal(cty.DynamicPseudoType)
	}
	enc, err := values.EncodeSealed(v, s, true)
	if errors.Is(err, values.ErrNeedsKey) {
		return enc, fmt.Errorf("the plan holds sensitive values, and saved plans seal them with the state key, which is not configured: set LLMOPS_STATE_KEY (or LLMOPS_STATE_KEY_FILE), or apply without -out")
	}
	return enc, err
}

func markSensitive(v cty.Value) cty.Value {
	if v == cty.NilVal {
		return v
	}
	if u, _ := v.Unmark(); u.IsKnown() && u.IsNull() {
		return v
	}
	return v.Mark(values.Sensitive)
}

func encodeChanges(chs []*ResourceInstanceChange, s values.Sealer) ([]fileChange, error) {
	out := make([]fileChange, 0, len(chs))
	for _, c := range chs {
		fc := fileChange{
			Addr: c.Addr.String(), Provider: c.Provider.String(), Action: c.Action, Reason: c.Reason,
			Private: c.Private, PendingStatus: c.PendingStatus, PendingMessage: c.PendingMessage,
			CreateBeforeDestroy: c.CreateBeforeDestroy, Placement: c.Placement, DeposedKey: c.DeposedKey,
		}
		if c.PrevAddr != nil {
			fc.PrevAddr = c.PrevAddr.String()
		}
		if c.PriorProvider != nil {
			fc.PriorProvider = c.PriorProvider.String()
		}
		var err error
		if fc.Before, err = encodeSafe(c.Before, s); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Addr, err)
		}
		if fc.After, err = encodeSafe(c.After, s); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Addr, err)
		}
		if c.Config != cty.NilVal {
			enc, err := encodeSafe(c.Config, s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.Addr, err)
			}
			fc.Config = &enc
		}
		if len(c.RequiresReplace) > 0 {
			b, err := values.EncodePaths(c.RequiresReplace)
			if err != nil {
				return nil, err
			}
			fc.RequiresReplace = b
		}
		for _, d := range c.Dependencies {
			fc.Dependencies = append(fc.Dependencies, d.String())
		}
		out = append(out, fc)
	}
	return out, nil
}

// ReadFile loads a plan saved by WriteFile; s opens its sealed values (a
// plan read without the key shows them as sensitive and cannot be applied).
func ReadFile(path string, s values.Sealer) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(b, s)
}

// decodeSafe opens sealed values; without the key they stay hidden and the
// plan is marked as not appliable.
func decodeSafe(e values.Encoded, s values.Sealer, sealed *bool) (cty.Value, error) {
	v, err := values.DecodeSealed(e, s, true)
	if errors.Is(err, values.ErrSealed) {
		*sealed = true
		return v, nil
	}
	return v, err
}

func digestOf(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Decode parses a saved plan's bytes. It refuses what is not a plan file,
// another format version, and a plan whose bytes do not match their
// digest (edited or damaged since they were written).
func Decode(b []byte, s values.Sealer) (*Plan, error) {
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil || env.Format != FileFormat {
		return nil, fmt.Errorf("not an llmops plan file (make one with `llmops plan -out FILE`)")
	}
	if env.Version != FileVersion {
		return nil, fmt.Errorf("the plan file has format version %d; this llmops reads version %d. Plan again with this llmops", env.Version, FileVersion)
	}
	if env.Digest != digestOf(env.Plan) {
		return nil, fmt.Errorf("the plan file was modified after it was written (its content does not match its digest %s); plan again with `llmops plan -out FILE`", env.Digest)
	}
	var f file
	if err := json.Unmarshal(env.Plan, &f); err != nil {
		return nil, fmt.Errorf("the plan file's content cannot be read (%v); plan again with `llmops plan -out FILE`", err)
	}
	p := &Plan{
		Mode: f.Mode, CreatedAt: f.CreatedAt, Lineage: f.Lineage, PrevSerial: f.PrevSerial,
		ConfigDigest: f.ConfigDigest, ProviderHashes: f.ProviderHashes, Variables: map[string]cty.Value{},
		SensitiveVariables: f.SensitiveVariables, Targets: f.Targets, Excludes: f.Excludes, Replace: f.Replace,
	}
	for n, e := range f.Variables {
		v, err := values.Decode(e)
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", n, err)
		}
		p.Variables[n] = v
	}
	var err error
	sealed := false
	if p.Changes, err = decodeChanges(f.Changes, s, &sealed); err != nil {
		return nil, err
	}
	if p.Drift, err = decodeChanges(f.Drift, s, &sealed); err != nil {
		return nil, err
	}
	if p.DataReads, err = decodeChanges(f.DataReads, s, &sealed); err != nil {
		return nil, err
	}
	if p.Deposed, err = decodeChanges(f.Deposed, s, &sealed); err != nil {
		return nil, err
	}
	for _, fo := range f.Outputs {
		o := &OutputChange{Name: fo.Name, Action: fo.Action, Sensitive: fo.Sensitive}
		if o.Before, err = decodeSafe(fo.Before, s, &sealed); err != nil {
			return nil, fmt.Errorf("output %s: %w", fo.Name, err)
		}
		if o.After, err = decodeSafe(fo.After, s, &sealed); err != nil {
			return nil, fmt.Errorf("output %s: %w", fo.Name, err)
		}
		p.Outputs = append(p.Outputs, o)
	}
	p.Sort()
	p.Sealed = sealed
	return p, nil
}

func decodeChanges(fcs []fileChange, s values.Sealer, sealed *bool) ([]*ResourceInstanceChange, error) {
	out := make([]*ResourceInstanceChange, 0, len(fcs))
	for _, fc := range fcs {
		c, err := decodeChange(fc, s, sealed)
		if err != nil {
			return nil, fmt.Errorf("change of %q: %w", fc.Addr, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func decodeChange(fc fileChange, s values.Sealer, sealed *bool) (*ResourceInstanceChange, error) {
	ri, err := addrs.ParseResourceInstance(fc.Addr)
	if err != nil {
		return nil, err
	}
	pc, err := addrs.ParseProviderConfig(fc.Provider)
	if err != nil {
		return nil, fmt.Errorf("provider: %w", err)
	}
	c := &ResourceInstanceChange{
		Addr: ri, Provider: pc, Action: fc.Action, Reason: fc.Reason, Private: fc.Private,
		PendingStatus: fc.PendingStatus, PendingMessage: fc.PendingMessage, CreateBeforeDestroy: fc.CreateBeforeDestroy,
		Placement: fc.Placement, DeposedKey: fc.DeposedKey,
	}
	if fc.PrevAddr != "" {
		prev, err := addrs.ParseResourceInstance(fc.PrevAddr)
		if err != nil {
			return nil, fmt.Errorf("previous address: %w", err)
		}
		c.PrevAddr = &prev
	}
	if fc.PriorProvider != "" {
		pp, err := addrs.ParseProviderConfig(fc.PriorProvider)
		if err != nil {
			return nil, fmt.Errorf("prior provider: %w", err)
		}
		c.PriorProvider = &pp
	}
	if c.Before, err = decodeSafe(fc.Before, s, sealed); err != nil {
		return nil, fmt.Errorf("value before: %w", err)
	}
	if c.After, err = decodeSafe(fc.After, s, sealed); err != nil {
		return nil, fmt.Errorf("value after: %w", err)
	}
	if fc.Config != nil {
		if c.Config, err = decodeSafe(*fc.Config, s, sealed); err != nil {
			return nil, fmt.Errorf("configuration: %w", err)
		}
	}
	if len(fc.RequiresReplace) > 0 {
		if c.RequiresReplace, err = values.DecodePaths(fc.RequiresReplace); err != nil {
			return nil, fmt.Errorf("requires_replace: %w", err)
		}
	}
	for _, d := range fc.Dependencies {
		ri, err := addrs.ParseResourceInstance(d)
		if err != nil {
			return nil, fmt.Errorf("dependency: %w", err)
		}
		c.Dependencies = append(c.Dependencies, ri.Resource)
	}
	return c, nil
}

func readAll(path string) ([]byte, error) { return os.ReadFile(path) }
