package slurm

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"

	"github.com/llmops/llmops/plugins/sdk"
	"github.com/llmops/llmops/plugins/sdk/jobs"
	"github.com/llmops/llmops/schema"
)

const defaultMethod = "full"

var trainingKind = &jobKind{
	kind: schema.TrainingRun, prefix: "train", collect: collectModel,
	identity: func(st sdk.Object) (map[string]any, error) {
		in := map[string]any{"base_model": st.GetString("base_model")}
		if ds := st.GetString("dataset"); ds != "" {
			in["dataset"] = ds
		}
		hp, err := toJSON(st.Attr("hyperparameters"))
		if err != nil {
			return nil, err
		}
		if len(hp) == 0 {
			hp = json.RawMessage("{}")
		}
		in["hyperparameters"] = hp
		in["method"] = methodOf(st)
		if r := st.GetString("resume_from"); r != "" {
			in["resume_from"] = r
		}
		return in, nil
	},
	prepare: prepareTraining,
	finished: func(_ context.Context, m *meta, st *sdk.Object, f *finishedJob) sdk.Diagnostics {
		var d sdk.Diagnostics
		out, ok := f.man.Outputs[collectModel]
		if !ok {
			st.SetString("status", jobs.StatusFailed)
			d.Errorf("The training job left no model", "Its manifest (%s) lists no model output.", f.run.manifestPath(f.attempt))
			return d
		}
		info, err := m.importOutput(out, f.listing())
		if err != nil {
			st.SetString("status", jobs.StatusFailed)
			d.FromError("Cannot store the trained model", err)
			return d
		}
		st.SetString("output_model", string(info.ID))
		st.Set("metrics", numberMap(readMetrics(f.outputDir())))
		return nil
	},
	clear: func(st *sdk.Object) {
		st.SetNull("output_model")
		st.SetNull("metrics")
	},
	stored: func(st sdk.Object) []string {
		if id := st.GetString("output_model"); id != "" {
			return []string{id}
		}
		return nil
	},
}

func methodOf(st sdk.Object) string {
	if m := st.GetString("method"); m != "" {
		return m
	}
	return defaultMethod
}

func trainingRunResource() *sdk.Resource {
	return jobResource(trainingKind, jobBlock(schema.TrainingRun, nil),
		func(_ context.Context, req *sdk.ModifyPlanRequest, planned *sdk.Object) sdk.Diagnostics {
			if !planned.Known("method") && req.Config.Known("method") && !req.Config.IsSet("method") {
				planned.SetString("method", defaultMethod)
			}
			return nil
		}, nil)
}

// prepareTraining resolves a training run's inputs into the job contract,
// with paths the nodes can read.
func prepareTraining(_ context.Context, m *meta, st sdk.Object) (*jobInputs, sdk.Diagnostics) {
	var d sdk.Diagnostics
	in := &jobInputs{}
	if !st.IsSet("method") || !st.Known("method") {
		st.SetString("method", defaultMethod)
	}
	bp, err := m.storePath(st.GetString("base_model"))
	if err != nil {
		d.AttrErrorf(attr("base_model"), "Base model not found", "%v. base_model takes a model id, such as model.base.id or training_run.x.output_model.", err)
		return nil, d
	}
	in.env.BaseModelPath = bp
	if ds := st.GetString("dataset"); ds != "" {
		if err := m.datasetEnv(&in.env, ds, false); err != nil {
			d.AttrErrorf(attr("dataset"), "Dataset not found", "%v", err)
			return nil, d
		}
	}
	hp, err := toJSON(st.Attr("hyperparameters"))
	if err != nil || (hp != nil && !strings.HasPrefix(strings.TrimSpace(string(hp)), "{")) {
		d.AttrErrorf(attr("hyperparameters"), "Invalid hyperparameters", "hyperparameters must be an object, such as { learning_rate = 2e-4, epochs = 3 }.")
		return nil, d
	}
	in.env.Hyperparameters, in.env.HparamsSet = hp, true
	in.env.Method = methodOf(st)
	if r := st.GetString("resume_from"); r != "" {
		p := r
		if strings.HasPrefix(r, "sha256:") {
			if p, err = m.storePath(r); err != nil {
				d.AttrErrorf(attr("resume_from"), "Checkpoint not found", "%v", err)
				return nil, d
			}
		} else if !filepath.IsAbs(p) {
			p = filepath.Join(m.jobDir, p)
		}
		in.env.ResumeFrom = p
	}
	return in, d
}

// storePath resolves an artifact id to the path the nodes read it at.
func (m *meta) storePath(id string) (string, error) {
	p, err := m.store.Resolve(id)
	if err != nil {
		return "", err
	}
	return m.visible(p)
}

// datasetEnv fills a job's dataset variables from a dataset id.
func (m *meta) datasetEnv(e *jobs.Env, id string, eval bool) error {
	dir, err := m.store.Resolve(id)
	if err != nil {
		return err
	}
	info, err := jobs.ReadDatasetInfo(dir)
	if err != nil {
		return err
	}
	vdir, err := m.visible(dir)
	if err != nil {
		return err
	}
	info.DatasetEnv(e, vdir, eval)
	return nil
}

// readMetrics reads the final metrics: metrics.json, else the last line of
// metrics.jsonl.
func readMetrics(outputDir string) map[string]float64 {
	metrics, _, err := jobs.ReadMetrics(outputDir)
	if err == nil && metrics != nil {
		return metrics
	}
	_, last, _ := jobs.LatestMetrics(filepath.Join(outputDir, jobs.MetricsLinesFile))
	return last
}
