// Package jobs is the job contract of docs/architecture.md, section 5.2
// (in full: docs/job-contract.md), shared by every provider that runs user
// commands (local, Slurm, Kubernetes), so that one train.py runs anywhere:
//
//   - Env builds a job's environment: LLMOPS_RUN_ID, LLMOPS_OUTPUT_DIR and,
//     by kind, LLMOPS_BASE_MODEL_PATH, LLMOPS_DATASET_PATH,
//     LLMOPS_TRAIN_PATH, LLMOPS_EVAL_PATH, LLMOPS_SPLIT_<NAME>_PATH,
//     LLMOPS_HPARAMS (a JSON object), LLMOPS_METHOD, LLMOPS_RESUME_FROM,
//     LLMOPS_MODEL_PATH, LLMOPS_ENDPOINT, LLMOPS_API_KEY and
//     LLMOPS_INPUT_PATH.
//   - ParseMetrics and LatestMetrics read what a job reports: the final
//     metrics.json (a flat object of numbers) and the progress lines of
//     metrics.jsonl. Both tolerate junk (fuzzed): a job's output is not
//     trusted.
//   - Manifest is what a finished job leaves beside its outputs: status,
//     exit code, times, metrics and the digest of each output, so llmops
//     never reads the weights again to learn their digest.
//   - Identity hashes a job's inputs: the same identity means the same
//     result, so an unchanged run is never rerun, and a provider can find
//     (adopt) a job it already started.
//   - Tail returns the last lines of a log, for the error of a job that
//     died.
//
// The boundary: the standard library only. How a job is started,
// detached, polled or killed is each provider's business.
package jobs
