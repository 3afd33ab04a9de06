// Package local is the `local` provider: it carries out the lifecycle
// kinds for real on the host llmops runs on (a laptop, an on-prem GPU box).
//
//   - model: a file:// file or directory, a Hugging Face model from the
//     local cache (hf://org/name + revision), or an artifact id (a training
//     run's output), imported into the artifact store.
//   - dataset: a file:// jsonl, csv or txt file, optionally transformed by a
//     command, split deterministically (seeded hash of each row), stored
//     as a bundle (data file, splits/, dataset.json) in the artifact store.
//   - prompt: a template (text or file) with checked variables.
//   - training_run, evaluation, embedding_index: commands run under the
//     job contract (package plugins/sdk/jobs), detached from llmops so they
//     survive it: the provider binary re-executes itself as a supervisor
//     (see Supervise) in its own session, which runs the command in its own
//     process group with its output in a log file, enforces
//     resources.max_duration, collects the outputs into the artifact store
//     and writes the job's manifest.
//
// Jobs live in run directories <artifact store>/runs/local/<kind>/<identity>,
// keyed by the hash of their inputs and created exclusively, so a job is
// never started twice for the same inputs: a Create that finds a running
// or finished job adopts it (the case of llmops killed between starting a
// job and recording it). The supervisor holds an flock on <run>/lock for
// as long as it lives; a run whose lock is free and which has no manifest
// died.
//
// Deleting a running job sends SIGTERM to its process group and SIGKILL
// after a grace period (10s; LLMOPS_LOCAL_KILL_GRACE overrides it, e.g.
// "30s" for jobs that checkpoint on SIGTERM). A job whose supervisor died
// is reported with the tail of its log, and its command, if it still runs
// unsupervised, is stopped.
//
// The provider block accepts `allowed_roots`: absolute directories that
// file:// sources may use besides the configuration directory. Paths are
// resolved through symbolic links before the check.
//
// The boundary: the package uses only plugins/sdk (with its artifacts and
// jobs packages) and schema, as every provider must. Deployments and
// monitors (the kinds of the next issue) are not served yet.
package local
