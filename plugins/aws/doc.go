// Package aws is the `aws` provider: it runs training runs, evaluations
// and dataset transforms as Amazon SageMaker training jobs, registers
// models as SageMaker Models and serves deployments from SageMaker
// Endpoints, under the same job contract as the local and slurm providers
// (package plugins/sdk/jobs). It talks to AWS through aws-sdk-go-v2 and
// the standard credential chain (profile, environment, web identity,
// instance role); credentials never reach the state, plans or logs.
//
// Inputs and outputs live in S3 beside the remote artifact store
// (artifacts { url = "s3://BUCKET/PREFIX" }): an input artifact is laid out
// once, by server-side copies of its blobs, as a readable tree under
// PREFIX/views/<hex>/ and given to the job as an input channel
// (channels.go); the job writes LLMOPS_OUTPUT_DIR=/opt/ml/model, which
// SageMaker uploads as model.tar.gz under the provider's output path; the
// provider reads metrics.json from it and imports the model (or data)
// into the artifact store (output.go). Checkpoints go to S3 through the
// job's CheckpointConfig; with spot = true, LLMOPS_RESUME_FROM names the
// directory SageMaker restores them into after an interruption.
//
// Long operations follow the SDK's pending model: Create starts the job
// and returns Pending with the job's name as the handle; Read follows
// DescribeTrainingJob until Completed, Failed or Stopped (job.go). Job
// names derive from the job's identity (the hash of its inputs), so an
// unchanged run is adopted, never started twice.
//
// Deployments (deployment.go) are served by package serving: the llmops
// gateway on this host in front of one SageMaker endpoint per revision
// (endpoint.go: a Model, an endpoint configuration whose instance count is
// the replica count, and the endpoint). The gateway is this binary run
// again (GatewayArg) with a transport that calls POST
// /endpoints/NAME/invocations signed with SigV4 (sigv4.go). Blue/green:
// the next revision's endpoint comes up, the gateway switches, the old one
// is deleted; UpdateEndpoint is never used.
//
// Every resource the provider creates is tagged llmops:id and
// llmops:address (tags.go); errors name the AWS operation, the error code
// and what to do (errors.go); capacity errors are returned as placement
// refusals (protocol.CapacityRefused) so that a placement falls back to
// its next candidate. Prices come from a built-in table (prices.go)
// overridable by the provider's `prices`.
//
// The boundary: the package uses only plugins/sdk (with its artifacts,
// jobs, gateway and serving packages), schema, and aws-sdk-go-v2.
package aws
