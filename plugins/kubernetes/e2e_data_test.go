package kubernetes

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/llmops/llmops/plugins/sdk/retrieval"
)

// A dataset transform and an embedding index as Jobs, through the CLI: the
// transform's pod fetches the source from S3 by digest, rewrites it and
// pushes data.jsonl; the provider builds the dataset version (bundle,
// splits) from it. A training run on Kubernetes trains on that version
// (its command checks it reads the transformed rows); an embedding index
// is built from it (the pod reads the chunks on stdin, its vectors are
// pushed, the provider writes the SQLite index), and a deployment's
// retrieval block serves it. A second plan is empty; destroy leaves no
// labelled object.
func TestE2ETransformAndEmbeddingIndex(t *testing.T) {
	w := newE2E(t)
	w.write("docs.jsonl", `{"text": "draft one about gpus"}
{"text": "draft two about schedulers"}
{"text": "draft three about pods"}
{"text": "draft four about jobs"}
`)
	w.write("data.llmops.hcl", `
dataset "docs" {
  provider = kubernetes
  source   = "file://docs.jsonl"
  split    = { train = 0.5, eval = 0.5 }
  transform {
    command = ["/bin/sh", "-c", "echo transforming $LLMOPS_INPUT_PATH; sed s/draft/final/ $LLMOPS_INPUT_PATH > $LLMOPS_OUTPUT_DIR/data.jsonl"]
  }
}

training_run "ft" {
  provider   = kubernetes
  base_model = model.base.id
  dataset    = dataset.docs.id
  command    = ["/bin/sh", "-c", "test $(grep -c final $LLMOPS_DATASET_PATH) = 4 && ! grep -q draft $LLMOPS_DATASET_PATH && mkdir -p $LLMOPS_OUTPUT_DIR/model && cp $LLMOPS_TRAIN_PATH $LLMOPS_OUTPUT_DIR/model/train.jsonl && echo '{\"rows\": 4}' > $LLMOPS_OUTPUT_DIR/metrics.json"]
}

embedding_index "docs" {
  provider      = kubernetes
  dataset       = dataset.docs.id
  command       = ["/bin/sh", "-c", "while read -r line; do echo \"[$${#line}, 1]\"; done"]
  chunk_size    = 16
  chunk_overlap = 4
}

deployment "rag" {
  provider = kubernetes
  model    = training_run.ft.output_model
  serve {
    command = ["vllm", "serve", "{model_path}", "--port", "{port}"]
  }
  retrieval {
    index    = embedding_index.docs.id
    template = "Context: {{context}}\nQuestion: {{question}}"
  }
  access {
    public = true
  }
}
`)
	w.llmops(0, "init")
	w.llmops(0, "apply", "-auto-approve")
	ctx := context.Background()

	ds := w.values("dataset.docs")
	if ds["status"] != "succeeded" || !strings.HasPrefix(fmt.Sprint(ds["id"]), "sha256:") || fmt.Sprint(ds["rows"]) != "4" || ds["source_digest"] == ds["digest"] {
		t.Fatalf("dataset.docs: %v", ds)
	}
	if b, err := os.ReadFile(ds["path"].(string)); err != nil || strings.Count(string(b), "final") != 4 || strings.Contains(string(b), "draft") {
		t.Fatalf("the dataset version is not the transform's output: %q %v", b, err)
	}
	ns, name, _ := strings.Cut(ds["job_id"].(string), "/")
	job, err := w.c.client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil || job.Labels[LabelKind] != "dataset" || job.Annotations[AnnotationAddress] != "dataset.docs" || job.Labels[LabelManagedBy] != ManagedBy {
		t.Fatalf("the transform's Job: %v %v", job, err)
	}
	pods, err := w.c.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + name})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("the transform's pod: %v %v", pods, err)
	}
	if out, _ := w.kubelet.output(pods.Items[0].Name); !strings.Contains(out, "transforming ") {
		t.Fatalf("the transform's pod did not run its command through the runner:\n%s", out)
	}

	if ft := w.values("training_run.ft"); ft["status"] != "succeeded" || fmt.Sprint(ft["metrics"].(map[string]any)["rows"]) != "4" {
		t.Fatalf("training_run.ft on the transformed dataset: %v", ft)
	}

	ix := w.values("embedding_index.docs")
	if ix["status"] != "succeeded" || !strings.HasPrefix(fmt.Sprint(ix["id"]), "sha256:") || fmt.Sprint(ix["dimensions"]) != "2" {
		t.Fatalf("embedding_index.docs: %v", ix)
	}
	index, err := retrieval.Open(ix["path"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(index.Len()) != fmt.Sprint(ix["chunks"]) || index.Len() < 8 || index.Meta(retrieval.MetaEmbedCommand) == "" {
		t.Fatalf("the index file: %d chunks (state %v), embed command %q", index.Len(), ix["chunks"], index.Meta(retrieval.MetaEmbedCommand))
	}
	ins, iname, _ := strings.Cut(ix["job_id"].(string), "/")
	if j, err := w.c.client.BatchV1().Jobs(ins).Get(ctx, iname, metav1.GetOptions{}); err != nil || j.Labels[LabelKind] != "embedding-index" {
		t.Fatalf("the index's Job: %v %v", j, err)
	}

	if dep := w.values("deployment.rag"); dep["status"] != "serving" {
		t.Fatalf("deployment.rag with the index's retrieval: %v", dep)
	}
	w.llmops(0, "plan", "-detailed-exitcode")

	w.llmops(0, "destroy", "-auto-approve")
	if left := w.labelled(); len(left) != 0 {
		t.Fatalf("destroy left labelled objects: %v", left)
	}
}
