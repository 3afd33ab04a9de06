package local

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/schema/kindsdk"
)

func promptResource() *sdk.Resource {
	return &sdk.Resource{
		Schema: kindsdk.Block(schema.Prompt, sdk.Block{}),
		Validate: func(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
			return schema.Validate(schema.Prompt, req.Config.Value)
		},
		// Everything about a prompt is known from its text, so the plan
		// shows it all: a changed template file is an update with its new
		// digest.
		ModifyPlan: func(_ context.Context, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
			if !req.Config.Known("template") || !req.Config.Known("template_file") || !req.Config.Known("variables") {
				return nil
			}
			planned := req.Planned
			text, d := promptText(metaOf(req.Meta), req.Config)
			if d.HasErrors() {
				return &sdk.ModifyPlanResponse{Diagnostics: d}
			}
			d = append(d, setPrompt(metaOf(req.Meta), &planned, text, req.Config.Attr("variables"), false)...)
			return &sdk.ModifyPlanResponse{Planned: planned, Diagnostics: d}
		},
		Create: func(_ context.Context, req *sdk.CreateRequest) *sdk.Response {
			return applyPrompt(metaOf(req.Meta), req.Planned, req.Config.Attr("variables"))
		},
		Update: func(_ context.Context, req *sdk.UpdateRequest) *sdk.Response {
			return applyPrompt(metaOf(req.Meta), req.Planned, req.Config.Attr("variables"))
		},
		Read: readArtifact,
	}
}

// promptText is the template: the template attribute, or template_file's
// content.
func promptText(m *meta, cfg sdk.Object) (string, sdk.Diagnostics) {
	if !cfg.IsSet("template_file") {
		return cfg.GetString("template"), nil
	}
	p, err := m.resolveRel(cfg.GetString("template_file"))
	if err != nil {
		return "", attrErr(attr("template_file"), "Cannot read the template", err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", attrErr(attr("template_file"), "Cannot read the template", err)
	}
	if len(b) > 16<<20 {
		return "", attrErr(attr("template_file"), "Template too large", fmt.Errorf("%s is %d bytes; prompts are limited to 16 MiB", p, len(b)))
	}
	return string(b), nil
}

// setPrompt sets the computed attributes of a prompt from its text, and
// checks its variables. With store, the text is stored.
// declared is the configuration's variables (null: inferred).
func setPrompt(m *meta, st *sdk.Object, text string, declared cty.Value, store bool) sdk.Diagnostics {
	where := attr("template")
	if st.IsSet("template_file") {
		where = attr("template_file")
	}
	d := schema.CheckPromptVariables(text, declared, where)
	if d.HasErrors() {
		return d
	}
	if declared.IsNull() {
		names := schema.Placeholders(text)
		if len(names) == 0 {
			st.Set("variables", cty.ListValEmpty(cty.String))
		} else {
			vals := make([]cty.Value, len(names))
			for i, n := range names {
				vals[i] = cty.StringVal(n)
			}
			st.Set("variables", cty.ListVal(vals))
		}
	}
	sum := sha256.Sum256([]byte(text))
	id := artifacts.IDFromSum(sum[:])
	if store {
		info, err := m.store.PutBytes([]byte(text))
		if err != nil {
			d.FromError("Cannot store the prompt", err)
			return d
		}
		id = info.ID
	}
	st.SetString("id", string(id))
	st.SetString("digest", string(id))
	st.SetString("text", text)
	st.SetString("path", m.store.Path(id))
	return d
}

func applyPrompt(m *meta, st sdk.Object, declared cty.Value) *sdk.Response {
	text, d := promptText(m, st)
	if d.HasErrors() {
		return &sdk.Response{Diagnostics: d}
	}
	d = append(d, setPrompt(m, &st, text, declared, true)...)
	if d.HasErrors() {
		return &sdk.Response{Diagnostics: d}
	}
	return &sdk.Response{State: done(st), Diagnostics: d}
}
