package aws

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/internal/testenv"
	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/conformance"
	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// TestConformance runs the SDK's conformance suite on the provider in
// process. The suite gives a provider a local artifact store only, so the
// kinds that run on SageMaker must refuse to start, saying that they need
// an S3 store (the end-to-end tests run them against the emulator); a
// dataset without a transform is built on the llmops host and goes
// through every step.
func TestConformance(t *testing.T) {
	// Nothing reaches AWS: no call is made before the S3 store is found
	// missing. The environment only keeps a developer's AWS settings out.
	testenv.AWS{Endpoint: "http://127.0.0.1:9", Region: "us-east-1", AccessKey: "none", SecretKey: "none"}.Setenv(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data.jsonl")
	if err := os.WriteFile(data, []byte("{\"text\": \"a\"}\n{\"text\": \"b\"}\n{\"text\": \"c\"}\n{\"text\": \"d\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, n := cty.StringVal, cty.NumberIntVal
	obj := cty.ObjectVal
	split := cty.MapVal(map[string]cty.Value{"train": cty.NumberFloatVal(0.5), "eval": cty.NumberFloatVal(0.5)})
	awsJob := func(image, typ cty.Value) cty.Value {
		return obj(map[string]cty.Value{"image": image, "instance_type": typ, "instance_count": cty.NullVal(cty.Number),
			"spot": cty.NullVal(cty.Bool), "max_wait": cty.NullVal(cty.String), "volume_size_gb": cty.NullVal(cty.Number)})
	}
	img := s("123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1")
	image := awsJob(img, cty.NullVal(cty.String))
	id := s("sha256:ab0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd")
	cases := []conformance.Case{
		{
			TypeName:     "dataset",
			Create:       obj(map[string]cty.Value{"source": s("file://" + data), "split": split}),
			Update:       obj(map[string]cty.Value{"source": s("file://" + data), "split": split, "seed": n(7)}),
			Invalid:      obj(map[string]cty.Value{"source": s("https://example.com/d.jsonl")}),
			InvalidError: "Unsupported dataset source",
			StateOnly:    true,
		},
		{
			TypeName:     "training_run",
			Create:       obj(map[string]cty.Value{"base_model": id, "command": cty.ListVal([]cty.Value{s("python3"), s("train.py")}), "aws": image}),
			Invalid:      obj(map[string]cty.Value{"base_model": id, "command": cty.ListVal([]cty.Value{s("python3")}), "aws": awsJob(img, s("p4d.24xlarge"))}),
			InvalidError: "not a SageMaker instance type",
			FailsWith:    "needs an S3 artifact store",
		},
		{
			TypeName:     "evaluation",
			Create:       obj(map[string]cty.Value{"model": id, "command": cty.ListVal([]cty.Value{s("python3"), s("eval.py")}), "aws": image}),
			Invalid:      obj(map[string]cty.Value{"model": id, "command": cty.ListVal([]cty.Value{s("python3")})}),
			InvalidError: "Missing aws { image }",
			FailsWith:    "needs an S3 artifact store",
		},
		{
			TypeName:     "model",
			Create:       obj(map[string]cty.Value{"source": id, "aws": obj(map[string]cty.Value{"image": img})}),
			Invalid:      obj(map[string]cty.Value{"source": s("hf://org/name"), "aws": obj(map[string]cty.Value{"image": img})}),
			InvalidError: "Unsupported model source",
			FailsWith:    "needs an S3 artifact store",
		},
	}
	conformance.Run(t, conformance.Config{
		Factory:      func() protocol.Provider { return sdk.NewProtocolProvider(Provider()) },
		ProviderType: "aws",
		ProviderConfig: obj(map[string]cty.Value{"region": s("us-east-1"),
			"execution_role_arn": s("arn:aws:iam::123456789012:role/llmops-sagemaker")}),
		Cases: cases,
	})
}
