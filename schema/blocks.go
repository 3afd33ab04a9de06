package schema

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/llmops/llmops/plugins/sdk/protocol"
)

// Reserved names that later issues add to the core schemas (placement on
// training runs, evaluations and deployments; retry on jobs). Extend
// refuses them so no provider can take them first.
var Reserved = []string{"placement", "retry"}

func modelBlock() *protocol.Block {
	return block("A model: base weights from a file, a model hub, or a training run's output. Imported into the artifact store.", common(attrs{
		"source":      at(cty.String).req().doc("Where the model comes from: `file://path` (a file or directory, relative to the configuration directory), `hf://org/name`, or an artifact id such as `training_run.ft.output_model`."),
		"revision":    at(cty.String).opt().doc("The revision to pin for remote sources (a branch, tag or commit); default `main`."),
		"license":     at(cty.String).opt().doc("The model's licence, recorded for lineage (e.g. `apache-2.0`)."),
		"description": at(cty.String).opt().doc("Free text."),
		"path":        at(cty.String).comp().doc("Absolute path of the model in the artifact store."),
		"size_bytes":  at(cty.Number).comp().doc("Total size of the model's files."),
	}, true), nil)
}

func datasetBlock() *protocol.Block {
	return block("A dataset version: a source file, optionally transformed, split deterministically, stored in the artifact store.", common(attrs{
		"source":        at(cty.String).req().doc("Where the data comes from: `file://path` relative to the configuration directory, or a deployment's captured traffic, `deployment.NAME.traffic` (a snapshot of its sealed segments: see docs/monitoring.md)."),
		"min_rating":    at(cty.Number).opt().doc("With a traffic source: only the exchanges whose feedback rating is at least this (ignored with a file source)."),
		"min_new_rows":  at(cty.Number).opt().doc("With a traffic source: plan a new version only once this many new rows exist (default 1; ignored with a file source)."),
		"format":        at(cty.String).opt().comp().doc("The data format (`jsonl`, `csv`, `txt`); inferred from the source's extension when unset."),
		"split":         at(cty.Map(cty.Number)).opt().doc("Named fractions that sum to 1, e.g. `{ train = 0.9, eval = 0.1 }`. Rows are assigned by a seeded hash of their content, so the split is deterministic and an edited row moves alone."),
		"seed":          at(cty.Number).opt().doc("Seed of the split (default 1)."),
		"description":   at(cty.String).opt().doc("Free text."),
		"source_digest": at(cty.String).comp().doc("Digest of the source as read, before any transform."),
		"path":          at(cty.String).comp().doc("Absolute path of the data file in the artifact store."),
		"rows":          at(cty.Number).comp().doc("Number of rows (records; the header of a CSV file is not a row)."),
		"size_bytes":    at(cty.Number).comp().doc("Size of the data file."),
		"splits":        at(cty.Map(SplitType)).comp().doc("Per split: path, digest and rows."),
	}, true), blocks{
		"transform": nested(protocol.NestingSingle, 0, 0, block("A preprocessing job: reads LLMOPS_INPUT_PATH, writes LLMOPS_OUTPUT_DIR/data.<format>.", attrs{
			"command": commandAttr("The transform command.").req(),
			"env":     at(cty.Map(cty.String)).opt().doc("Extra environment variables for the command."),
		}, nil)),
	})
}

func promptBlock() *protocol.Block {
	return block("A prompt template with declared variables (`{{name}}` placeholders).", common(attrs{
		"template":      at(cty.String).opt().doc("The template text. Set this or template_file."),
		"template_file": at(cty.String).opt().doc("A file holding the template, relative to the configuration directory."),
		"variables":     at(cty.List(cty.String)).opt().comp().doc("The variables the template uses; each `{{name}}` placeholder must be declared. Inferred from the template when unset."),
		"description":   at(cty.String).opt().doc("Free text."),
		"text":          at(cty.String).comp().doc("The template text (read from template_file when that is set)."),
		"path":          at(cty.String).comp().doc("Absolute path of the template in the artifact store."),
	}, true), nil)
}

func resourcesBlock() *protocol.NestedBlock {
	return nested(protocol.NestingSingle, 0, 0, block("What the job needs. Providers map these to their scheduler.", attrs{
		"gpus":         at(cty.Number).opt().doc("Number of GPUs; 0 runs on CPU."),
		"gpu_type":     at(cty.String).opt().doc("GPU model wanted (`any` or e.g. `a100`)."),
		"memory_gb":    at(cty.Number).opt().doc("Host memory in GiB."),
		"cpus":         at(cty.Number).opt().doc("CPU cores."),
		"nodes":        at(cty.Number).opt().doc("Number of nodes (multi-node runs)."),
		"max_duration": at(cty.String).opt().doc("Wall-time limit (`6h`, `90m`, `1d`); the job is killed past it."),
	}, nil))
}

// jobOutputs are the computed attributes of kinds that run a job.
func jobOutputs(as attrs) attrs {
	as["status"] = at(cty.String).comp().doc("`running`, `succeeded` or `failed`.")
	as["job_id"] = at(cty.String).comp().doc("The provider's id of the job.")
	as["identity"] = at(cty.String).comp().doc("Digest of the job's inputs: same identity, same result, no rerun.")
	as["started_at"] = at(cty.String).comp().doc("When the job started (RFC 3339).")
	as["finished_at"] = at(cty.String).comp().doc("When the job finished (RFC 3339).")
	as["log_path"] = at(cty.String).comp().doc("Where the job's log (stdout and stderr) is.")
	return as
}

func trainingRunBlock() *protocol.Block {
	return block("A training run (fine-tune, LoRA, ...): an immutable result keyed by its inputs.", common(jobOutputs(attrs{
		"base_model":      at(cty.String).req().forceNew().doc("The model to start from: a model id (`model.base.id`) or another run's `output_model`."),
		"dataset":         at(cty.String).opt().forceNew().doc("The training data: a dataset id (`dataset.x.id`). Its `train` and `eval` splits are passed when it has them."),
		"method":          at(cty.String).opt().comp().forceNew().doc("The training method (`full`, `lora`, `qlora`, ...); providers validate it. Default `full`."),
		"command":         commandAttr("The training command.").req().forceNew(),
		"hyperparameters": at(cty.DynamicPseudoType).opt().forceNew().doc("Any object; passed to the command as JSON in LLMOPS_HPARAMS."),
		"env":             envAttr(),
		"resume_from":     at(cty.String).opt().forceNew().doc("A checkpoint to resume from, passed as LLMOPS_RESUME_FROM."),
		"output_model":    at(cty.String).comp().doc("The trained model's artifact id, usable wherever a model id is."),
		"metrics":         at(cty.Map(cty.Number)).comp().doc("The final metrics (metrics.json, else the last metrics.jsonl line)."),
	}), false), blocks{"resources": resourcesBlock()})
}

func evaluationBlock() *protocol.Block {
	return block("An evaluation of a model (or a live endpoint) with gates that block what depends on it.", common(jobOutputs(attrs{
		"model":    at(cty.String).opt().forceNew().doc("The model to evaluate: a model id or a run's `output_model`. Set this or endpoint."),
		"endpoint": at(cty.String).opt().forceNew().doc("A live OpenAI-compatible endpoint to evaluate (e.g. `deployment.prod.endpoint`)."),
		"api_key":  at(cty.String).opt().sensitive().doc("API key for the endpoint, passed as LLMOPS_API_KEY."),
		"dataset":  at(cty.String).opt().forceNew().doc("The evaluation data: a dataset id; its `eval` split is used when it has one."),
		"command":  commandAttr("The evaluation command; it writes metrics.json.").opt().forceNew(),
		"env":      envAttr(),
		"results":  at(cty.Map(cty.Number)).comp().doc("The metrics the evaluation measured."),
		"passed":   at(cty.Bool).comp().doc("Whether every gate passed."),
	}), false), blocks{
		"resources": resourcesBlock(),
		"gate": nested(protocol.NestingList, 0, 0, block("A bound on one metric; a failed gate fails the evaluation and blocks its dependents.", attrs{
			"metric":  at(cty.String).req().doc("The metric's name in metrics.json."),
			"min":     at(cty.Number).opt().doc("The lowest acceptable value."),
			"max":     at(cty.Number).opt().doc("The highest acceptable value."),
			"max_gap": at(cty.Number).opt().doc("For slice metrics (`METRIC.SLICE` in metrics.json, e.g. `accuracy_by_group.a`): the largest acceptable difference between the best and the worst slice of metric. Set it alone, without min or max."),
		}, nil)),
	})
}

func embeddingIndexBlock() *protocol.Block {
	return block("An embedding index over a dataset: chunks embedded by a command, stored as SQLite in the artifact store.", common(jobOutputs(attrs{
		"dataset":       at(cty.String).req().forceNew().doc("The corpus: a dataset id."),
		"model":         at(cty.String).opt().forceNew().doc("The embedding model's id, passed as LLMOPS_MODEL_PATH."),
		"command":       commandAttr("The embedding command: JSON lines of chunks in (stdin and LLMOPS_INPUT_PATH), JSON lines of vectors out (stdout or LLMOPS_OUTPUT_DIR/embeddings.jsonl).").req().forceNew(),
		"env":           envAttr(),
		"chunk_size":    at(cty.Number).opt().forceNew().doc("Characters per chunk (default 1000)."),
		"chunk_overlap": at(cty.Number).opt().forceNew().doc("Characters shared by consecutive chunks (default 100)."),
		"text_field":    at(cty.String).opt().forceNew().doc("The field (JSON lines) or column (CSV) holding the text (default `text`)."),
		"path":          at(cty.String).comp().doc("Absolute path of the index (SQLite) in the artifact store."),
		"chunks":        at(cty.Number).comp().doc("Number of chunks indexed."),
		"dimensions":    at(cty.Number).comp().doc("Vector dimensions."),
	}), true), blocks{"resources": resourcesBlock()})
}

func deploymentBlock() *protocol.Block {
	return block("A model served over an OpenAI-compatible API behind llmops' gateway.", common(attrs{
		"model":            at(cty.String).opt().doc("The model to serve: a model id or a run's `output_model`. A change rolls out a new revision. Set this (with `serve`) or an `upstream` block."),
		"replicas":         at(cty.Number).opt().doc("Number of replicas (default 1)."),
		"strategy":         at(cty.String).opt().doc("`blue_green` (default), `rolling` or `recreate`."),
		"revision":         at(cty.Number).comp().doc("Increases with each rollout (a new model, serve block or replica count); the endpoint stays the same."),
		"endpoint":         at(cty.String).comp().doc("The stable endpoint, e.g. `http://127.0.0.1:PORT/v1`. It changes only when the deployment is replaced."),
		"status":           at(cty.String).comp().doc("`serving`, `degraded` (a replica or the gateway died, or the model's files changed) or `stopped`."),
		"healthy_replicas": at(cty.Number).comp().doc("Replicas that answer their health check at the last refresh."),
		"traffic":          at(cty.String).comp().doc("The deployment's captured traffic as a dataset source (`traffic://<id>`): `source = deployment.NAME.traffic`. Rows exist only with a capture block."),
	}, false), blocks{
		"capture": nested(protocol.NestingSingle, 0, 0, block("Keep a sample of the requests and responses the gateway relays (completions and chat completions), redacted, in append-only segments of the artifact store; a dataset with `source = deployment.NAME.traffic` snapshots them. Nothing is captured without this block. See docs/monitoring.md.", attrs{
			"sample":          at(cty.Number).req().doc("The fraction of requests kept, greater than 0 and at most 1 (e.g. `0.05`)."),
			"redact":          at(cty.List(cty.String)).opt().doc("Built-in detectors whose matches are replaced by `[REDACTED:<name>]` before anything is written: `email`, `phone`, `api_key`. Default: all three; `[]` turns them off."),
			"redact_patterns": at(cty.List(cty.String)).opt().doc("Extra regular expressions (RE2 syntax) redacted the same way, e.g. `[\"ACCT-[0-9]{8}\"]`."),
			"max_rows":        at(cty.Number).opt().doc("The most exchanges kept; past it nothing more is captured (and the drops are counted). Default: no limit."),
		}, nil)),
		"serve": nested(protocol.NestingSingle, 0, 0, block("How to start one replica.", attrs{
			"command":        commandAttr("The serving command; `{model_path}` and `{port}` are substituted.").req(),
			"env":            at(cty.Map(cty.String)).opt().doc("Extra environment variables."),
			"health_path":    at(cty.String).opt().doc("Health check path (default `/health`)."),
			"health_timeout": at(cty.String).opt().doc("How long a new replica may take to answer its health check (default `60s`); past it the rollout fails and the previous revision keeps serving."),
		}, nil)),
		"upstream": nested(protocol.NestingSingle, 0, 0, block("A hosted OpenAI-compatible API served behind the gateway instead of replicas: keys, rate limits, metrics and monitors work as for a local model. A change rolls out a new revision.", attrs{
			"base_url": at(cty.String).req().doc("The API's base URL, e.g. `https://api.openai.com/v1`; requests go to it plus the path after `/v1`."),
			"api_key":  at(cty.String).opt().sensitive().doc("The key sent to the upstream (Authorization: Bearer), and nowhere else: sealed in state, held by the gateway process in memory only, never in its files."),
			"model":    at(cty.String).req().doc("The upstream's model: the name the deployment serves (GET /v1/models) and puts in every request body."),
		}, nil)),
		"retrieval": nested(protocol.NestingSingle, 0, 0, block("Retrieval-augmented serving: the gateway embeds each question with the embedding command and model that built the index, takes the top_k most similar chunks (cosine), fills the template and calls the model; the response carries `citations`. A new index (or template, top_k) is a new revision.", attrs{
			"index":     at(cty.String).req().doc("The index searched: `embedding_index.x.id`."),
			"top_k":     at(cty.Number).opt().doc("Chunks retrieved per question (default 4)."),
			"template":  at(cty.String).req().doc("The prompt the model gets: a prompt id (`prompt.x.id`) or the text itself, with `{{context}}` (the retrieved chunks) and `{{question}}` placeholders."),
			"min_score": at(cty.Number).opt().doc("The cosine similarity a chunk needs to be retrieved (default 0, unrelated); a question no chunk reaches is an empty retrieval (the monitors' `empty_retrieval_rate`)."),
		}, nil)),
		"access": nested(protocol.NestingSingle, 0, 0, block("Who may call the endpoint: `api_keys`, or `public = true` (the only way to serve without keys).", attrs{
			"api_keys":            at(cty.List(cty.String)).opt().sensitive().writeOnly().doc("Accepted bearer keys. Write-only: they are never stored; only their salted hashes (api_key_hashes) are."),
			"api_key_hashes":      at(cty.List(cty.String)).opt().comp().doc("Salted hashes of the accepted keys (`sha256:<salt>:<digest>`), computed from api_keys; may be given instead of api_keys."),
			"public":              at(cty.Bool).opt().doc("Serve without keys. The only way to do so."),
			"requests_per_minute": at(cty.Number).opt().doc("Per-key rate limit (per client address when public); past it the gateway answers 429."),
		}, nil)),
		"resources": resourcesBlock(),
	})
}

// BreachType is the type of one element of a monitor's computed
// `breaches`: the check's name, the measured value, the bound it crossed
// and which bound that was ("max" or "min").
var BreachType = cty.Object(map[string]cty.Type{"check": cty.String, "value": cty.Number, "bound": cty.Number, "kind": cty.String})

// Monitor statuses.
const (
	MonitorOK     = "ok"
	MonitorBreach = "breach"
	MonitorNoData = "no_data"
)

func monitorBlock() *protocol.Block {
	return block("Checks on a deployment, with alerts and an action on breach. The provider measures the checks when the monitor is refreshed (at most once per interval); llmops watch sends the alerts and acts on breaches.", common(attrs{
		"deployment":          at(cty.String).req().doc("The deployment watched: `deployment.x.id`."),
		"interval":            at(cty.String).opt().doc("How often to check (default `30s`). Metric checks cover the traffic since the previous reading."),
		"on_breach":           at(cty.String).opt().doc("`alert` (default) or `rollback`."),
		"status":              at(cty.String).comp().doc("At the last reading: `ok`, `breach` (at least one check out of bounds) or `no_data` (a check had nothing to measure, e.g. no traffic)."),
		"last_checked":        at(cty.String).comp().doc("When the checks were last measured (RFC 3339)."),
		"breaches":            at(cty.List(BreachType)).comp().doc("The checks out of bounds at the last reading: check, value, bound and kind (`max` or `min`)."),
		"values":              at(cty.Map(cty.Number)).comp().doc("The value of each check that could be measured at the last reading."),
		"deployment_revision": at(cty.Number).comp().doc("The deployment's revision that the last reading measured."),
	}, false), blocks{
		"check": nested(protocol.NestingMap, 0, 0, block("A bound on one measurement, named by the block label (`p95_latency_ms`, `p50_latency_ms`, `error_rate`, `requests_per_minute`, `empty_retrieval_rate` (a retrieval deployment's share of questions no chunk answered), `eval:<evaluation>.<metric>`; on captured traffic: `drift:input_length`, `drift:language` (population stability index against the training dataset), `empty_answer_rate`, `feedback_score`).", attrs{
			"min": at(cty.Number).opt().doc("The lowest acceptable value."),
			"max": at(cty.Number).opt().doc("The highest acceptable value."),
		}, nil)),
		"alert": nested(protocol.NestingList, 0, 0, block("Where a breach is reported.", attrs{
			"webhook": at(cty.String).opt().doc("An http(s) URL that receives a JSON payload."),
			"command": at(cty.List(cty.String)).opt().doc("A command that receives the payload on stdin (argv, never a shell)."),
		}, nil)),
	})
}

// Readings lists, per kind, the computed attributes that are measurements
// taken at each refresh (a monitor's readings): they change on their own,
// so the engine does not report their changes as drift.
var Readings = map[string][]string{
	Monitor: {"status", "last_checked", "breaches", "values", "deployment_revision"},
}
