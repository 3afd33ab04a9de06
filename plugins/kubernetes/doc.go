// Package kubernetes is the `kubernetes` provider (llmops-provider-kubernetes):
// it runs training runs, evaluations, dataset transforms and embedding
// indexes as batch/v1 Jobs on a Kubernetes cluster through client-go, under the same job contract as the local and
// Slurm providers (package plugins/sdk/jobs), so one train.py runs on all
// three.
//
// Pods do not see the llmops host's disk: the provider pushes each input to
// the remote artifact store (artifacts { url = "s3://..." }) and gives the
// pod LLMOPS_INPUTS (digests) and LLMOPS_ARTIFACTS_URL. The container runs
// this binary in runner mode (runner.go, `__llmops_runner -- COMMAND`),
// which fetches the inputs by digest, runs the command, pushes the model
// and metrics to the store and writes their ids to the container's
// termination message; the provider reads that message from the
// succeeded pod (cluster.go). A transform's runner pushes data.<format>
// and an embedding command's the vectors (it feeds the chunks on stdin);
// the provider then builds the dataset bundle or the SQLite index on the
// llmops host, as every provider does (dataset.go, embedding.go), and
// their id is that artifact's. The runner comes with the job's image
// (runner_path) or is copied in by an init container (runner_image).
//
// manifest.go renders the Job: nvidia.com/gpu limits, gpu_type as a node
// selector from a table the provider block overrides (gpu_types),
// activeDeadlineSeconds from max_duration, the kubernetes block's node
// selector, tolerations, priority class, service account and Kueue queue
// label; nodes > 1 is an Indexed Job with a headless Service and the
// multi-node variables (NODE_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT).
// Sensitive env values go to a Secret owned by the Job.
//
// job.go follows the SDK's pending model: Create makes the Job (attempt
// n is llmops-<run id>-<n>) and returns Pending; Read follows it, reports
// the scheduler's reason while a pod is unschedulable and fails after
// queue_timeout, retries per the retry block with LLMOPS_RESUME_FROM set
// to the checkpoint the runner pushed, and completes from the runner's
// result. Everything made carries app.kubernetes.io/managed-by=llmops and
// llmops.io/id=<object id>: refresh finds it (a Job deleted or relabelled
// outside llmops is drift, and the next apply makes it again), import
// adopts a Job by NAMESPACE/NAME (its llmops.io/inputs and
// llmops.io/blocks annotations give back the configuration), and Delete
// removes exactly the labelled Jobs, Services and Secrets, foreground,
// waiting until their pods are gone. offers.go answers placement from the
// nodes' allocatable GPUs minus what their pods request.
//
// deployment.go is this provider's serving backend for package
// plugins/sdk/serving (which carries out blue_green, rolling and recreate
// and runs the gateway on the llmops host): each revision is a Deployment
// and a Service, a replica is one of the Deployment's Ready pods, Stop
// scales a revision down (or deletes it) and waits for its pods to end,
// and a stable Service's selector follows the revisions the gateway
// routes to.
//
// The boundary: the package uses plugins/sdk (artifacts, remote, jobs),
// schema and client-go; nothing of the engine.
package kubernetes
