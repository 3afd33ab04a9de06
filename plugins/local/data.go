package local

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
)

// The local provider's data sources pin what exists without managing it:
// a model in the local Hugging Face cache (or a file, or an artifact) and
// a dataset, each read to its digest without being imported into the
// artifact store.
func dataSources() map[string]*sdk.DataSource {
	return map[string]*sdk.DataSource{
		"model":   modelData(),
		"dataset": datasetData(),
	}
}

func modelData() *sdk.DataSource {
	return &sdk.DataSource{
		Schema: sdk.Block{
			Description: "A model that exists (hf://org/name in the local Hugging Face cache, a file:// path or an artifact id), resolved to its digest without importing it.",
			Attributes: sdk.Attributes{
				"source":     sdk.Attr(cty.String).Required().Description("hf://org/name, file://path or sha256:... (an artifact id)."),
				"revision":   sdk.Attr(cty.String).Optional().Description("For hf:// sources: a branch, tag or commit of the cache (main when unset)."),
				"digest":     sdk.Attr(cty.String).Computed().Description("sha256: digest of the model's files, as the artifact store would name them."),
				"commit":     sdk.Attr(cty.String).Computed().Description("For hf:// sources: the commit the revision resolves to in the cache."),
				"path":       sdk.Attr(cty.String).Computed().Description("Where the model's files are."),
				"size_bytes": sdk.Attr(cty.Number).Computed().Description("Total size of the files."),
			},
		},
		Read: readModelData,
	}
}

func readModelData(_ context.Context, req *sdk.ReadDataRequest) (sdk.Object, sdk.Diagnostics) {
	m := metaOf(req.Meta)
	st := req.Config
	src, rev := st.GetString("source"), st.GetString("revision")
	var diags sdk.Diagnostics
	p, _, err := m.modelSourcePath(src, rev)
	if err != nil {
		diags.AttrErrorf(attr("source"), "Cannot find the model", "%s.", strings.TrimSuffix(err.Error(), "."))
		return st, diags
	}
	if strings.HasPrefix(src, "hf://") {
		_, commit, _ := resolveHF(src, rev)
		st.SetString("commit", commit)
	} else {
		st.SetNull("commit")
	}
	return digestInto(m, st, p, &diags), diags
}

func datasetData() *sdk.DataSource {
	return &sdk.DataSource{
		Schema: sdk.Block{
			Description: "A dataset that exists (a file:// file or directory, or an artifact id), read to its digest without importing it.",
			Attributes: sdk.Attributes{
				"source":     sdk.Attr(cty.String).Required().Description("file://path or sha256:... (an artifact id)."),
				"digest":     sdk.Attr(cty.String).Computed().Description("sha256: digest of the content."),
				"path":       sdk.Attr(cty.String).Computed().Description("Where the content is."),
				"size_bytes": sdk.Attr(cty.Number).Computed().Description("Total size."),
				"files":      sdk.Attr(cty.Number).Computed().Description("Number of files (1 for a file)."),
			},
		},
		Read: readDatasetData,
	}
}

func readDatasetData(_ context.Context, req *sdk.ReadDataRequest) (sdk.Object, sdk.Diagnostics) {
	m := metaOf(req.Meta)
	st := req.Config
	src := st.GetString("source")
	var diags sdk.Diagnostics
	var p string
	var err error
	switch {
	case strings.HasPrefix(src, "sha256:"):
		p, err = m.store.Resolve(src)
	case strings.HasPrefix(src, "file://"):
		p, err = m.resolveFile(src)
	default:
		err = fmt.Errorf("%q is neither file://path nor an artifact id (sha256:...)", src)
	}
	if err == nil {
		_, err = os.Stat(p)
	}
	if err != nil {
		diags.AttrErrorf(attr("source"), "Cannot find the dataset", "%s.", strings.TrimSuffix(err.Error(), "."))
		return st, diags
	}
	st = digestInto(m, st, p, &diags)
	if st.Type().HasAttribute("files") && !diags.HasErrors() {
		dg, _ := m.store.Digest(p)
		st.SetInt("files", int64(max(dg.Files, 1)))
	}
	return st, diags
}

// digestInto sets digest, path and size_bytes of st from the content at p.
func digestInto(m *meta, st sdk.Object, p string, diags *sdk.Diagnostics) sdk.Object {
	dg, err := m.store.Digest(p)
	if err != nil {
		diags.AttrErrorf(attr("source"), "Cannot read the content", "%s.", strings.TrimSuffix(err.Error(), "."))
		return st
	}
	st.SetString("digest", string(dg.ID))
	st.SetString("path", p)
	st.SetInt("size_bytes", dg.Size)
	return st
}
