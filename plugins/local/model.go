package local

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/schema/kindsdk"
)

func modelResource() *sdk.Resource {
	return &sdk.Resource{
		Schema:     kindsdk.Block(schema.Model, sdk.Block{}),
		Validate:   validateModel,
		ModifyPlan: planModel,
		Create: func(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
			return applyModel(ctx, req.Meta, req.Planned)
		},
		Update: func(ctx context.Context, req *sdk.UpdateRequest) *sdk.Response {
			return applyModel(ctx, req.Meta, req.Planned)
		},
		Read: readArtifact,
		Import: func(ctx context.Context, req *sdk.ImportRequest) *sdk.Response {
			m := metaOf(req.Meta)
			if _, err := m.store.Resolve(req.ID); err != nil {
				return sdk.ErrorResponse("Cannot import model", fmt.Errorf("%w; import a model by its artifact id", err))
			}
			st := req.State
			st.SetString("source", req.ID)
			return applyModel(ctx, req.Meta, st)
		},
	}
}

func validateModel(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
	d := schema.Validate(schema.Model, req.Config.Value)
	if req.Config.Known("source") {
		src := req.Config.GetString("source")
		if !strings.HasPrefix(src, "file://") && !strings.HasPrefix(src, "hf://") && !strings.HasPrefix(src, "sha256:") && strings.Contains(src, "://") {
			d.AttrErrorf(attr("source"), "Unsupported model source",
				"The local provider reads models from file:// paths, hf://org/name (the local Hugging Face cache) and artifact ids (sha256:..., e.g. training_run.ft.output_model); %q is none of them.", src)
		}
	}
	return d
}

// modelSourcePath returns the path a model's source refers to and the
// options to store it with.
func (m *meta) modelSourcePath(src, revision string) (string, artifacts.PutOptions, error) {
	switch {
	case strings.HasPrefix(src, "sha256:"):
		p, err := m.store.Resolve(src)
		return p, artifacts.PutOptions{}, err
	case strings.HasPrefix(src, "file://"):
		p, err := m.resolveFile(src)
		// A local model is imported without a second copy where possible
		// (reflink, else a read-only hard link, else copy_file_range).
		return p, artifacts.PutOptions{Mode: artifacts.Import, CheckLink: m.checkLink}, err
	case strings.HasPrefix(src, "hf://"):
		dir, _, err := resolveHF(src, revision)
		if err != nil {
			return "", artifacts.PutOptions{}, err
		}
		repo := filepath.Dir(filepath.Dir(dir))
		within := func(link, target string) error {
			if strings.HasPrefix(target, repo+string(filepath.Separator)) {
				return nil
			}
			return fmt.Errorf("%s links outside the cached model (%s)", link, target)
		}
		// Hub blobs are immutable: link them rather than copy gigabytes.
		return dir, artifacts.PutOptions{Mode: artifacts.Link, CheckLink: within}, nil
	}
	return "", artifacts.PutOptions{}, fmt.Errorf("unsupported model source %q", src)
}

// planModel computes the model's digest at plan time, so that a changed
// file shows in the plan (and replaces what was trained from it).
func planModel(_ context.Context, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
	if !req.Config.Known("source") || !req.Config.Known("revision") {
		return nil
	}
	m := metaOf(req.Meta)
	src := req.Config.GetString("source")
	var id artifacts.ID
	if strings.HasPrefix(src, "sha256:") {
		id = artifacts.ID(src)
	} else {
		p, _, err := m.modelSourcePath(src, req.Config.GetString("revision"))
		if err != nil {
			return &sdk.ModifyPlanResponse{Diagnostics: attrErr(attr("source"), "Cannot read the model", err)}
		}
		dg, err := m.store.Digest(p)
		if err != nil {
			return &sdk.ModifyPlanResponse{Diagnostics: attrErr(attr("source"), "Cannot read the model", err)}
		}
		id = dg.ID
	}
	planned := req.Planned
	if !req.IsCreate() && req.Prior.GetString("digest") == string(id) && req.Prior.GetString("id") == string(id) {
		return nil
	}
	planned.SetString("id", string(id))
	planned.SetString("digest", string(id))
	planned.SetString("path", m.store.Path(id))
	planned.SetUnknown("size_bytes")
	return &sdk.ModifyPlanResponse{Planned: planned}
}

func applyModel(ctx context.Context, metaV any, st sdk.Object) *sdk.Response {
	m := metaOf(metaV)
	src := st.GetString("source")
	p, opts, err := m.modelSourcePath(src, st.GetString("revision"))
	if err != nil {
		return errResp(attr("source"), "Cannot read the model", err)
	}
	info, err := m.store.PutContext(ctx, p, opts)
	if err != nil {
		return errResp(attr("source"), "Cannot store the model", err)
	}
	st.SetString("id", string(info.ID))
	st.SetString("digest", string(info.ID))
	st.SetString("path", info.Path)
	st.SetInt("size_bytes", info.Size)
	return &sdk.Response{State: done(st)}
}

// readArtifact is the Read of kinds whose object is an artifact: it exists
// while the store holds its id (the local store, or the remote one it
// caches: nothing is fetched to find out).
func readArtifact(ctx context.Context, req *sdk.ReadRequest) *sdk.Response {
	m := metaOf(req.Meta)
	id := req.State.GetString("id")
	if id == "" {
		return sdk.Gone()
	}
	ok, err := m.store.Exists(ctx, artifacts.ID(id))
	if err != nil {
		return sdk.ErrorResponse("Cannot reach the remote artifact store", err)
	}
	if !ok {
		return sdk.Gone()
	}
	return nil
}
