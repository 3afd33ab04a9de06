// Package slurm is the `slurm` provider: it runs training runs,
// evaluations and dataset transforms as batch jobs on a Slurm cluster,
// under the same job contract as the local provider (package
// plugins/sdk/jobs), so one train.py runs on both, and deployments as
// serving jobs behind a gateway on the llmops host.
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
// Deployments (deployment.go, deploy_*.go) are long-running serving jobs:
// each replica is a batch job (--time from resources.max_duration, default
// a day) whose script (deploy_script.go) picks a free port on its node,
// starts the serve command with {port} and {model_path} substituted, and
// publishes endpoint.json {host, port} in its directory under
// <shared_dir>/llmops/deployments/<id>/. Create and Update are synchronous:
// the provider waits for the job to run (queue_timeout), health-checks the
// server on its node (serve.health_timeout), then routes the deployment's
// gateway to it. The gateway (package plugins/sdk/gateway) runs detached
// on the llmops host, the provider binary re-executed with GatewayArg; it
// holds the stable endpoint, the API keys' hashes, the rate limit and the
// metrics, and switches revisions atomically. Its record and
// configuration live in the artifact store, under
// runs/slurm/deployment/<id>. A replica job that ended reads as a degraded
// deployment (drift); Update resubmits it in the same revision.
//
// The boundary: the package uses only plugins/sdk (with its artifacts,
// jobs and gateway packages) and schema, as every provider must.
package slurm
