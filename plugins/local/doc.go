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
//   - deployment: replicas of a serving command behind a gateway (API keys,
//     rate limit, metrics), rolled out by revision; monitor: checks on a
//     deployment's metrics and live evaluations (see below).
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
// Secrets: the command's argv and environment reach the supervisor
// through a pipe (never its environment or a file); spec.json records the
// argv with sensitive elements as "(sensitive)" and the environment without
// the variables that hold a secret. With sensitive values, the command's
// output goes through a scrubbing writer into job.log (mode 0600, and its
// copy in the store too). Jobs and replicas get only jobs.Passthrough of
// the provider's environment (extended by env_passthrough); deployment.json
// holds salted digests of sensitive serve values (scrub.Digest).
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
// Deployments (deployment.go, deploy_*.go) live in
// <artifact store>/runs/local/deployment/<id> (id dep-<16 hex>), with the
// provider's record (deployment.json), the gateway's configuration
// (gateway.json: routes and salted key hashes, never keys), gateway.log and
// replicas/r<revision>-<n>.log. Each replica is serve.command ({model_path}
// and {port} substituted, argv, run in the configuration directory with
// LLMOPS_MODEL_PATH, LLMOPS_PORT, LLMOPS_DEPLOYMENT_ID, LLMOPS_REVISION and
// LLMOPS_REPLICA) started detached in its own session, and healthy once its
// health path answers 2xx within serve.health_timeout (default 60s). In
// front of them, the gateway (package gateway) runs as the provider binary
// re-executed detached (`__llmops_gateway DIR`, see Gateway) on a socket the
// provider binds once, so the endpoint's port never changes while the
// deployment lives. The provider switches routes by rewriting gateway.json
// atomically and sending SIGHUP; it knows the switch took effect when the
// gateway's /metrics reports the new generation, and stops an old replica
// only once its in-flight gauge is zero.
//
// A change of model, serve command, env, health path or replicas rolls out a
// new revision (revision + 1, same endpoint): blue_green starts the whole
// new revision and switches once it is healthy (a revision that never gets
// healthy is stopped and the old one keeps serving; the apply fails with
// the replica's log), rolling replaces one replica at a time, recreate stops
// the old revision first. Refresh reports `degraded` (or `stopped`) when a
// replica or the gateway died or the stored model's files no longer hash to
// what the replicas loaded; the plan then updates the deployment back to
// `serving`, which restarts what is missing in the same revision. API keys
// are write-only: state holds access.api_key_hashes (sha256:<salt>:<digest>),
// and a configuration whose keys match them plans no change. Deleting stops
// the gateway, then the replicas. LLMOPS_GATEWAY_REQUEST_TIMEOUT (a Go
// duration, default 5m) bounds a request through the gateway.
//
// A deployment with an upstream block (a hosted OpenAI-compatible API)
// runs no replica: the gateway's only backend is the upstream, its key
// handed to the gateway process through a pipe (gateway.LaunchWithSecrets)
// and kept in deployment.json as a salted digest only; a new key restarts
// the gateway on the same port.
//
// Monitors (monitor.go, monitor_checks.go) keep their readings in
// <artifact store>/runs/local/monitor/<id>. A reading scrapes the
// deployment's gateway and computes the checks over the window since the
// previous reading (the gateway's start for the first), for the revision
// the deployment serves. The deployment is this provider's own, or one
// that another provider serving through the SDK's gateway (slurm) listed
// in the artifact store (gateway.Publish, runs/gateways/<id>.json); eval:<name>.<metric> checks rerun the evaluation
// named by the `evaluations` map (or an eval-... id) with LLMOPS_ENDPOINT
// and LLMOPS_API_KEY (the monitor's api_key) instead of LLMOPS_MODEL_PATH,
// and read <metric> from its metrics.json. Refresh takes a reading when the
// last is older than `interval`, so refreshes in between agree. The
// provider only measures: llmops watch sends alerts and acts on breaches.
//
// The boundary: the package uses only plugins/sdk (with its artifacts and
// jobs packages), schema and its own gateway package, as every provider
// must.
package local
