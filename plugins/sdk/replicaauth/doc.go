// Package replicaauth is the check between a deployment's gateway and its
// replicas. A replica listens on a port any local user (or, on a cluster,
// any user of the network) can reach, and its port shows in `ps` and in
// the gateway's metrics. So the gateway authenticates to each replica with
// a secret of its own: the provider starts the serving command with
// TokenEnv (LLMOPS_REPLICA_TOKEN) in its environment, the gateway sends it
// in the TokenHeader (X-LLMops-Replica-Token) of every request it
// forwards, and the serving program answers 401 to a request without it,
// except on its health path, which the provider checks before routing.
//
// Every serving program the project ships wraps its handler in Require; a
// user's own serving command should do the same check (docs/job-contract.md,
// "Serving commands").
//
// The boundary: the standard library only, so that a serving program can
// import it without the rest of llmops.
package replicaauth
