// Package slurm is the `slurm` provider: it runs training runs,
// evaluations and dataset transforms as batch jobs on a Slurm cluster,
// under the same job contract as the local provider (package
// plugins/sdk/jobs), so one train.py runs on both.
//
// It talks to slurmrestd (mode "rest", JWT from SLURM_JWT or token_file,
// API v0.0.38 or v0.0.39 found from the OpenAPI document) or runs sbatch,
// scontrol, squeue and scancel on a login node (mode "cli", argv only).
// Both sit behind the scheduler interface (sched.go).
//
// A job lives in a run directory on the shared filesystem,
// <shared_dir>/llmops/runs/<kind>/<identity>, keyed by the hash of its
// inputs, so an unchanged run is never submitted twice and a job submitted
// by an llmops that was killed is adopted (run.go). Each submission is an
// attempt with its own generated bash script (script.go: every value from
// the configuration single-quoted, see quote.go), log and output
// directory. The script runs the command, hashes the output the way the
// artifact store does, and writes a manifest with the digest, so the
// provider imports the output into the store by rename, without reading
// it (stage.go, digest.go). Inputs from a store the nodes do not mount are
// staged into <shared_dir>/llmops/stage by digest.
//
// Long operations follow the SDK's pending model: Create submits and
// returns Pending with the handle "<kind>/<identity>/<attempt>/<job id>";
// Read follows the job (queued, running, then completed, failed, timeout,
// node_fail, preempted, oom or cancelled). Failures the `retry` block
// lists are resubmitted with LLMOPS_RESUME_FROM set to the latest
// checkpoint; other failures are errors carrying the log's tail; a job
// cancelled outside llmops is recorded with status "cancelled" and
// replaced by the next plan (drift). Delete cancels the job.
//
// capacity.go computes, per partition, the GPUs free and the queue from
// the nodes' GRES, for placement offers.
//
// The boundary: the package uses only plugins/sdk (with its artifacts and
// jobs packages) and schema, as every provider must. Deployments (serving
// jobs) are not served yet.
package slurm
