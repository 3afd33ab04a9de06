// Package serving is what the providers that serve models (local, slurm,
// kubernetes) share about a `deployment`: its record, its planning, its
// rollouts and repairs, and its gateway. A provider writes only its
// Backend: how one replica is started, waited for until it serves,
// checked, and stopped (a process on the llmops host, a Slurm job, a
// Kubernetes Deployment), and the few attributes of its own.
//
// A deployment lives in <artifact store>/runs/<provider>/deployment/<id>
// (id dep-<16 hex digits>), private to the llmops host:
//
//	deployment.json   the record (Record): spec, replicas, gateway, access hashes
//	gateway.json      the gateway's routes and key hashes (package gateway)
//	gateway.log       the gateway's log
//	lock              flock held while a provider changes the deployment
//
// The record never holds a secret: the serve command's elements and env
// values that hold one are written as salted digests (scrub.Digest), and
// compared masked, so a configuration with the same secrets plans no new
// revision. API keys exist only as salted hashes.
//
// In front of the replicas, the gateway (package gateway) runs detached on
// the llmops host, the provider binary re-executed with gateway.Arg, on a
// socket bound once so the endpoint never changes while the deployment
// lives. Routes switch by a new configuration generation; a replica leaves
// the routes before it is stopped, and is stopped once no request is in
// flight on it.
//
// A change of model, serve command, env, health path, replica count or of
// what the backend says makes a revision (Backend.SameRevision) rolls out
// a new revision (revision + 1, same endpoint): blue_green starts the whole
// new revision and switches once it is healthy (one that never gets
// healthy is stopped and the old one keeps serving), rolling replaces one
// replica at a time, recreate stops the old revision first. A deployment
// found degraded (a replica or the gateway died) is repaired in its
// revision, blue/green again.
//
// A deployment with an upstream block (a hosted OpenAI-compatible API)
// runs no replica and nothing of its backend's: the gateway's only
// backend is the upstream, its key handed to the gateway process through
// a pipe (gateway.LaunchWithSecrets) and held in memory only; the record
// keeps a salted digest of it (a new key is a new revision and restarts
// the gateway on the same port).
//
// A retrieval block is resolved here for every backend (Site.Resolve
// finds the index and the prompt in the artifact store; the index says
// which embedding command and model made it) and handed to the gateway
// in its configuration; it is part of the revision, so a new index rolls
// out a new revision.
//
// A capture block (Record.Capture, CaptureOf) is handed to the gateway
// with the deployment's traffic directory (<artifact store>/traffic/<id>,
// package traffic); it is not part of a revision (a change reconfigures
// the gateway), the computed `traffic` attribute (traffic://<id>) names it
// as a dataset source, and deleting the deployment deletes it.
//
// The boundary: the package uses plugins/sdk, its gateway, jobs and scrub
// packages, and schema; it knows nothing of processes, schedulers or
// clusters, which are the backends' business.
package serving
