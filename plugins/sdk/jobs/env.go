package jobs

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// The job contract's environment variables.
const (
	EnvRunID         = "LLMOPS_RUN_ID"
	EnvOutputDir     = "LLMOPS_OUTPUT_DIR"
	EnvBaseModelPath = "LLMOPS_BASE_MODEL_PATH"
	EnvDatasetPath   = "LLMOPS_DATASET_PATH"
	EnvTrainPath     = "LLMOPS_TRAIN_PATH"
	EnvEvalPath      = "LLMOPS_EVAL_PATH"
	EnvHparams       = "LLMOPS_HPARAMS"
	EnvMethod        = "LLMOPS_METHOD"
	EnvResumeFrom    = "LLMOPS_RESUME_FROM"
	EnvModelPath     = "LLMOPS_MODEL_PATH"
	EnvEndpoint      = "LLMOPS_ENDPOINT"
	EnvAPIKey        = "LLMOPS_API_KEY"
	EnvInputPath     = "LLMOPS_INPUT_PATH"
	// The remote artifact store, for compute that cannot see the disk of
	// the machine that runs llmops (see docs/job-contract.md).
	EnvArtifactsURL       = "LLMOPS_ARTIFACTS_URL"
	EnvArtifactsEndpoint  = "LLMOPS_ARTIFACTS_ENDPOINT"
	EnvArtifactsPathStyle = "LLMOPS_ARTIFACTS_PATH_STYLE"
	EnvArtifactsRegion    = "LLMOPS_ARTIFACTS_REGION"
	// EnvInputs maps each path variable that points into the artifact
	// store to its digest: a JSON object such as
	// {"LLMOPS_BASE_MODEL_PATH": "sha256:<hex>", "LLMOPS_TRAIN_PATH":
	// "sha256:<hex>/splits/train.jsonl"}.
	EnvInputs = "LLMOPS_INPUTS"
	// EnvSplitPrefix + upper-cased split name + "_PATH", e.g.
	// LLMOPS_SPLIT_TEST_PATH, for every split of the dataset.
	EnvSplitPrefix = "LLMOPS_SPLIT_"
)

// contractVars are the names a job's environment never inherits from the
// caller (a job started from inside another job must not see its parent's).
var contractVars = []string{
	EnvRunID, EnvOutputDir, EnvBaseModelPath, EnvDatasetPath, EnvTrainPath, EnvEvalPath,
	EnvHparams, EnvMethod, EnvResumeFrom, EnvModelPath, EnvEndpoint, EnvAPIKey, EnvInputPath,
	EnvArtifactsURL, EnvArtifactsEndpoint, EnvArtifactsPathStyle, EnvArtifactsRegion, EnvInputs,
}

// IsContractVar reports whether name belongs to the job contract.
func IsContractVar(name string) bool {
	if strings.HasPrefix(name, EnvSplitPrefix) {
		return true
	}
	for _, v := range contractVars {
		if v == name {
			return true
		}
	}
	return false
}

// Env is the contract's view of one job. Empty fields are not set.
type Env struct {
	RunID     string
	OutputDir string
	// training_run
	BaseModelPath string
	DatasetPath   string
	TrainPath     string
	EvalPath      string
	// Splits maps every split name to its file (LLMOPS_SPLIT_<NAME>_PATH).
	Splits map[string]string
	// Hyperparameters is a JSON object (LLMOPS_HPARAMS); nil gives "{}" for
	// a training run (when HparamsSet) and nothing otherwise.
	Hyperparameters json.RawMessage
	HparamsSet      bool
	Method          string
	ResumeFrom      string
	// evaluation
	ModelPath string
	Endpoint  string
	APIKey    string
	// dataset transform, embedding input
	InputPath string
	// Extra holds the user's `env`; it cannot override contract variables.
	Extra map[string]string
	// Artifacts, for compute that does not see this machine's disk, names
	// the remote artifact store (LLMOPS_ARTIFACTS_URL and friends, from
	// the remote package's Config.Env). With it, LLMOPS_INPUTS gives the
	// digest of every path variable that points into the artifact store
	// rooted at StoreRoot.
	Artifacts map[string]string
	StoreRoot string
}

// Vars returns the contract variables of the job (and Extra), by name.
func (e Env) Vars() map[string]string {
	m := map[string]string{}
	for k, v := range e.Extra {
		if !IsContractVar(k) {
			m[k] = v
		}
	}
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set(EnvRunID, e.RunID)
	set(EnvOutputDir, e.OutputDir)
	set(EnvBaseModelPath, e.BaseModelPath)
	set(EnvDatasetPath, e.DatasetPath)
	set(EnvTrainPath, e.TrainPath)
	set(EnvEvalPath, e.EvalPath)
	for name, p := range e.Splits {
		set(SplitVar(name), p)
	}
	if len(e.Hyperparameters) > 0 {
		m[EnvHparams] = string(e.Hyperparameters)
	} else if e.HparamsSet {
		m[EnvHparams] = "{}"
	}
	set(EnvMethod, e.Method)
	set(EnvResumeFrom, e.ResumeFrom)
	set(EnvModelPath, e.ModelPath)
	set(EnvEndpoint, e.Endpoint)
	set(EnvAPIKey, e.APIKey)
	set(EnvInputPath, e.InputPath)
	if len(e.Artifacts) > 0 {
		for k, v := range e.Artifacts {
			if strings.HasPrefix(k, "LLMOPS_ARTIFACTS_") {
				set(k, v)
			}
		}
		if in := Inputs(m, e.StoreRoot); len(in) > 0 {
			b, _ := json.Marshal(in) // sorted by name
			m[EnvInputs] = string(b)
		}
	}
	return m
}

// Inputs maps each path variable of vars (LLMOPS_*_PATH) that points into
// the artifact store rooted at root to "sha256:<hex>" or, for a file
// inside a directory artifact, "sha256:<hex>/<slash-separated path>".
func Inputs(vars map[string]string, root string) map[string]string {
	if root == "" {
		return nil
	}
	objects := filepath.Join(root, "objects", "sha256") + string(filepath.Separator)
	out := map[string]string{}
	for k, v := range vars {
		if !strings.HasPrefix(k, "LLMOPS_") || !strings.HasSuffix(k, "_PATH") || k == EnvOutputDir {
			continue
		}
		rest, ok := strings.CutPrefix(filepath.Clean(v), objects)
		if !ok || len(rest) < 64 {
			continue
		}
		hex, inside, _ := strings.Cut(filepath.ToSlash(rest), "/")
		if len(hex) != 64 {
			continue
		}
		ref := "sha256:" + hex
		if inside != "" {
			ref += "/" + inside
		}
		out[k] = ref
	}
	return out
}

// SplitVar is the variable naming a split's file: LLMOPS_SPLIT_<NAME>_PATH
// with the name upper-cased and `-` as `_`.
func SplitVar(name string) string {
	return EnvSplitPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_PATH"
}

// Environ returns base (usually os.Environ()) without any inherited
// contract variable, followed by the job's variables, sorted by name.
func (e Env) Environ(base []string) []string {
	out := make([]string, 0, len(base)+16)
	vars := e.Vars()
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if IsContractVar(name) {
			continue
		}
		if _, over := vars[name]; over {
			continue
		}
		out = append(out, kv)
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		out = append(out, k+"="+vars[k])
	}
	return out
}

// CheckExtra returns an error naming the contract variables that a user's
// `env` tries to set (they are set by the provider).
func CheckExtra(extra map[string]string) error {
	var bad []string
	for k := range extra {
		if IsContractVar(k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("env cannot set %s: the provider sets %s by the job contract", strings.Join(bad, ", "), plural(len(bad), "it", "them"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
