package serving

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/retrieval"
	"github.com/llmops/llmops/schema"
)

// RetrievalSpec is a deployment's retrieval block, resolved: what the
// configuration says (Index, TopK, MinScore, Template, which make the
// revision) and what the gateway needs to run it, found from them.
type RetrievalSpec struct {
	Index    string  `json:"index"`
	TopK     int     `json:"top_k"`
	MinScore float64 `json:"min_score"`
	Template string  `json:"template"`

	IndexPath    string   `json:"index_path"`
	TemplateText string   `json:"template_text"`
	Command      []string `json:"embed_command"`
	ModelPath    string   `json:"embed_model_path,omitempty"`
	Dir          string   `json:"embed_dir,omitempty"`
}

// config is the gateway's part.
func (s *RetrievalSpec) config() *retrieval.Config {
	return &retrieval.Config{IndexID: s.Index, Index: s.IndexPath, TopK: s.TopK, MinScore: s.MinScore,
		Template: s.TemplateText, Command: s.Command, ModelPath: s.ModelPath, Dir: s.Dir}
}

// retrievalSpec resolves a planned state's retrieval block (nil when
// there is none): the index's file and the embedding command and model
// it records, the template's text (a prompt id's, or the text itself).
func (m *manager[S, R]) retrievalSpec(st sdk.Object) (*RetrievalSpec, sdk.Diagnostics) {
	var d sdk.Diagnostics
	v := st.Attr("retrieval")
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() {
		return nil, nil
	}
	p := cty.GetAttrPath("retrieval")
	if m.site.Resolve == nil {
		d.AttrErrorf(p, "Retrieval not served", "The %s provider does not serve retrieval-augmented deployments; use the local provider.", m.site.Provider)
		return nil, d
	}
	rs := &RetrievalSpec{Index: NestedString(v, "index"), TopK: retrieval.DefaultTopK, Template: NestedString(v, "template"), Dir: m.site.WorkDir}
	if k := nested(v, "top_k"); k != cty.NilVal {
		n, _ := k.AsBigFloat().Int64()
		rs.TopK = int(n)
	}
	if ms := nested(v, "min_score"); ms != cty.NilVal {
		rs.MinScore, _ = ms.AsBigFloat().Float64()
	}
	path, err := m.site.Resolve(rs.Index)
	if err != nil {
		d.AttrErrorf(p.GetAttr("index"), "Index not found", "%v. index takes an embedding index's id, such as embedding_index.docs.id.", err)
		return nil, d
	}
	ix, err := retrieval.Open(path)
	if err != nil {
		d.AttrErrorf(p.GetAttr("index"), "Not an embedding index", "%v. index takes an embedding index's id, such as embedding_index.docs.id.", err)
		return nil, d
	}
	rs.IndexPath, rs.Command = path, ix.EmbedCommand()
	if len(rs.Command) == 0 {
		d.AttrErrorf(p.GetAttr("index"), "The index does not say how it was embedded", "The index %s records no embedding command (it was built by an older llmops, or its command held a sensitive value, which llmops never writes). Rebuild it (llmops apply -replace=embedding_index.NAME), passing secrets through env.", rs.Index)
		return nil, d
	}
	if rel := ix.Meta(retrieval.MetaEmbedModelPath); rel != "" {
		rs.ModelPath = filepath.Join(m.site.StoreRoot, rel)
	}
	rs.TemplateText = rs.Template
	if schema.IsArtifactID(rs.Template) {
		tp, err := m.site.Resolve(rs.Template)
		var b []byte
		if err == nil {
			b, err = os.ReadFile(tp)
		}
		if err != nil {
			d.AttrErrorf(p.GetAttr("template"), "Template not found", "%v. template takes a prompt's id (prompt.NAME.id) or the text itself.", err)
			return nil, d
		}
		rs.TemplateText = string(b)
	}
	if err := schema.CheckRetrievalTemplate(rs.TemplateText); err != nil {
		d.AttrErrorf(p.GetAttr("template"), "Invalid retrieval template", "%v.", fmt.Sprint(err))
		return nil, d
	}
	return rs, d
}

// withRetrieval adds the retrieval block's part to a resolved spec.
func (m *manager[S, R]) withRetrieval(_ context.Context, st sdk.Object, spec *Spec[S], d sdk.Diagnostics) (*Spec[S], sdk.Diagnostics) {
	if spec == nil || d.HasErrors() {
		return spec, d
	}
	rs, rd := m.retrievalSpec(st)
	d = append(d, rd...)
	if rd.HasErrors() {
		return nil, d
	}
	spec.Retrieval = rs
	return spec, d
}
