package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/schema"
	"github.com/llmops/llmops/schema/kindsdk"
)

// modelResource registers a model artifact as a SageMaker Model: the
// artifact laid out in S3 (uncompressed, S3Prefix) with the inference
// image of aws { image }. Its id stays the artifact id, usable by every
// provider.
func modelResource() *sdk.Resource {
	return &sdk.Resource{
		Schema: kindsdk.Block(schema.Model, sdk.Block{
			Attributes: sdk.Attributes{
				"model_name":     sdk.Attr(cty.String).Computed().UseStateForUnknown().Description("The SageMaker Model's name."),
				"model_arn":      sdk.Attr(cty.String).Computed().UseStateForUnknown().Description("The SageMaker Model's ARN."),
				"model_data_uri": sdk.Attr(cty.String).Computed().UseStateForUnknown().Description("Where the model's files are in S3 (uncompressed)."),
			},
			Blocks: sdk.Blocks{"aws": sdk.SingleBlock(sdk.Block{
				Description: "The SageMaker Model.",
				Attributes: sdk.Attributes{
					"image": sdk.Attr(cty.String).Optional().ForceNew().Description("The inference container image (ECR). Required."),
				},
			})},
		}),
		Validate: func(_ context.Context, req *sdk.ValidateRequest) sdk.Diagnostics {
			d := schema.Validate(schema.Model, req.Config.Value)
			c := req.Config
			if c.Known("source") {
				if s := c.GetString("source"); !strings.HasPrefix(s, "sha256:") && !strings.HasPrefix(s, "file://") {
					d.AttrErrorf(attr("source"), "Unsupported model source", "The aws provider registers models from the artifact store: source takes an artifact id (model.base.id, training_run.ft.output_model) or file://PATH, not %q. Import hf:// models with the local provider first.", s)
				}
			}
			if a := c.Attr("aws"); a.IsKnown() && (a.IsNull() || nested(a, "image") == cty.NilVal && a.GetAttr("image").IsKnown()) {
				d.AttrErrorf(attr("aws"), "Missing aws { image }", "A SageMaker Model needs its inference container: add aws { image = \"ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME:TAG\" }.")
			}
			return d
		},
		ModifyPlan: func(_ context.Context, req *sdk.ModifyPlanRequest) *sdk.ModifyPlanResponse {
			planned := req.Planned
			if s := req.Config.GetString("source"); req.Config.Known("source") && strings.HasPrefix(s, "sha256:") {
				planned.SetString("id", s)
				planned.SetString("digest", s)
			}
			var replace []cty.Path
			if !req.IsCreate() && req.Prior.GetString("source") != req.Config.GetString("source") {
				replace = append(replace, attr("source"))
			}
			return &sdk.ModifyPlanResponse{Planned: planned, RequiresReplace: replace}
		},
		Create: createModel,
		Read:   readModel,
		Update: func(_ context.Context, req *sdk.UpdateRequest) *sdk.Response {
			return &sdk.Response{State: done(req.Planned)}
		},
		Delete: func(ctx context.Context, req *sdk.DeleteRequest) *sdk.Response {
			m := metaOf(req.Meta)
			name := req.Prior.GetString("model_name")
			if name == "" {
				return nil
			}
			if _, err := m.sm.DeleteModel(ctx, &sagemaker.DeleteModelInput{ModelName: awssdk.String(name)}); err != nil && !isNotFound(err) {
				return &sdk.Response{Diagnostics: opError("DeleteModel", "deleting model "+name, err)}
			}
			return nil
		},
		Import: sdk.ImportByID("model_name"),
	}
}

// modelName is the SageMaker name of a model artifact with an image.
func modelName(id artifacts.ID, image string) string {
	h := sha256.Sum256([]byte(image))
	return fmt.Sprintf("llmops-model-%s-%s", id.Hex()[:16], hex.EncodeToString(h[:])[:8])
}

func createModel(ctx context.Context, req *sdk.CreateRequest) *sdk.Response {
	m := metaOf(req.Meta)
	st := req.Planned
	if d := m.needS3(); d.HasErrors() {
		return &sdk.Response{Diagnostics: d}
	}
	src := st.GetString("source")
	if strings.HasPrefix(src, "file://") {
		p := strings.TrimPrefix(src, "file://")
		if !filepath.IsAbs(p) {
			p = filepath.Join(m.workDir, p)
		}
		info, err := m.store.PutContext(ctx, p, artifacts.PutOptions{Mode: artifacts.Import})
		if err != nil {
			var d sdk.Diagnostics
			d.AttrErrorf(attr("source"), "Cannot import the model", "%v", err)
			return &sdk.Response{Diagnostics: d}
		}
		src = string(info.ID)
	}
	id, err := artifacts.ParseID(src)
	if err != nil {
		var d sdk.Diagnostics
		d.AttrErrorf(attr("source"), "Invalid model source", "%v", err)
		return &sdk.Response{Diagnostics: d}
	}
	info, err := m.store.Stat(id)
	if err != nil {
		if _, err = m.store.Ensure(ctx, id); err == nil {
			info, err = m.store.Stat(id)
		}
	}
	if err != nil {
		var d sdk.Diagnostics
		d.AttrErrorf(attr("source"), "Model not found", "%v", err)
		return &sdk.Response{Diagnostics: d}
	}
	uri, err := m.view(ctx, src, "model")
	if err != nil {
		return &sdk.Response{Diagnostics: errDiags("Cannot lay the model out in S3", err)}
	}
	image := nestedString(st.Attr("aws"), "image")
	name := modelName(id, image)
	st.SetString("id", src)
	st.SetString("digest", src)
	st.SetString("path", uri)
	st.SetString("model_data_uri", uri)
	st.SetInt("size_bytes", info.Size)
	st.SetString("model_name", name)
	out, err := m.sm.CreateModel(ctx, &sagemaker.CreateModelInput{
		ModelName:        awssdk.String(name),
		ExecutionRoleArn: awssdk.String(m.role),
		PrimaryContainer: &smtypes.ContainerDefinition{Image: awssdk.String(image),
			ModelDataSource: &smtypes.ModelDataSource{S3DataSource: &smtypes.S3ModelDataSource{S3Uri: awssdk.String(uri), S3DataType: smtypes.S3ModelDataTypeS3Prefix, CompressionType: smtypes.ModelCompressionTypeNone}}},
		Tags: m.tagsFor(src, req.Address),
	})
	if err != nil {
		code, _ := apiError(err)
		if code != "ValidationException" || !strings.Contains(err.Error(), "already") {
			return &sdk.Response{Diagnostics: opError("CreateModel", "registering model "+name, err)}
		}
		// Registered before for this artifact and image: adopt it.
	}
	if out != nil {
		st.SetString("model_arn", awssdk.ToString(out.ModelArn))
	} else if dm, err := m.sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: awssdk.String(name)}); err == nil {
		st.SetString("model_arn", awssdk.ToString(dm.ModelArn))
	}
	return &sdk.Response{State: done(st)}
}

// readModel reads the SageMaker Model back: deleted outside llmops, it is
// gone (drift); imported, its source and image come from it.
func readModel(ctx context.Context, req *sdk.ReadRequest) *sdk.Response {
	m := metaOf(req.Meta)
	st := req.State
	name := st.GetString("model_name")
	if name == "" {
		return nil
	}
	dm, err := m.sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: awssdk.String(name)})
	if err != nil {
		if isNotFound(err) {
			return sdk.Gone()
		}
		return &sdk.Response{Diagnostics: opError("DescribeModel", "refreshing model "+name, err)}
	}
	if st.GetString("source") != "" {
		return nil
	}
	st.SetString("model_arn", awssdk.ToString(dm.ModelArn))
	if c := dm.PrimaryContainer; c != nil {
		uri := awssdk.ToString(c.ModelDataUrl)
		if c.ModelDataSource != nil && c.ModelDataSource.S3DataSource != nil {
			uri = awssdk.ToString(c.ModelDataSource.S3DataSource.S3Uri)
		}
		st.SetString("model_data_uri", uri)
		st.SetString("path", uri)
		if i := strings.LastIndex(strings.TrimSuffix(uri, "/"), "/views/"); i >= 0 {
			id := "sha256:" + strings.TrimSuffix(uri, "/")[i+len("/views/"):]
			st.SetString("source", id)
			st.SetString("id", id)
			st.SetString("digest", id)
			if pid, err := artifacts.ParseID(id); err == nil {
				if info, err := m.store.Stat(pid); err == nil {
					st.SetInt("size_bytes", info.Size)
				}
			}
		}
		ty := st.Attr("aws").Type()
		vals := map[string]cty.Value{}
		for n, t := range ty.AttributeTypes() {
			vals[n] = cty.NullVal(t)
		}
		vals["image"] = cty.StringVal(awssdk.ToString(c.Image))
		st.Set("aws", cty.ObjectVal(vals))
	}
	return &sdk.Response{State: done(st)}
}
