// Package gateway is the HTTP front of a deployment, shared by the
// providers that serve models (local, slurm): one stable endpoint
// (http://HOST:PORT/v1) that checks API keys, enforces a per-key rate
// limit, validates requests, load-balances them over the replicas of the
// deployment's current revision (processes on the llmops host, or serving
// jobs on cluster nodes) and measures them.
//
// It runs as its own detached process on the llmops host (the provider
// binary re-executed as `llmops-provider-<type> __llmops_gateway DIR`, see
// Arg, Main and Launch), so it outlives llmops and the provider. The
// provider hands it its listening socket (file descriptor 3), so the port
// never changes while the deployment lives, and writes its routing and
// access configuration to DIR/gateway.json
// (Config, written atomically by rename). The gateway reloads that file on
// SIGHUP (and when its modification time changes, checked every second): the
// new routes take effect for the next request, atomically; requests in
// flight finish on the replica they started on. The provider knows a switch
// took effect when /metrics reports the new config generation, and that an
// old replica is drained when its in-flight gauge is zero.
//
// What the gateway does with a request under /v1/:
//
//   - Authorization: `Bearer <key>` is hashed with each stored key's salt
//     and compared in constant time with the stored digest (keys are never
//     in the configuration, only `sha256:<salt>:<digest>`); a missing or
//     wrong key gets 401 with an OpenAI-style JSON error. A public
//     deployment skips this.
//   - Rate limit: with requests_per_minute set, each key (each client
//     address when public) has a token bucket of that many requests,
//     refilled continuously; past it, 429 with Retry-After (seconds).
//   - Body: POST bodies larger than max_body_bytes (default 4 MiB) get 413;
//     a body that is not valid JSON gets 400. Only GET and POST are served.
//   - Forwarding (net/http/httputil.ReverseProxy, proxy.go): round robin
//     over the current backends; a backend that refuses connections is
//     skipped for a second and the request retried on another (the body is
//     buffered, so this is safe). Each request
//     carries the replica's token in X-LLMops-Replica-Token (package
//     replicaauth: the serving program answers 401 without it, except on
//     its health path). Only Content-Type and Accept are forwarded; the client's Authorization,
//     cookies and other headers never reach a replica, and no request
//     header is ever reflected in a response. Responses carry
//     Content-Type, Content-Length, X-Request-Id (made by the gateway, on
//     every response, refusals and /health included) and X-LLMOps-Revision
//     (the revision that served the request). Server-sent events
//     (`stream: true`) are relayed unbuffered, each event flushed as it
//     comes.
//   - Errors: the gateway's refusals have the OpenAI API's one shape,
//     {"error": {"message", "type", "param", "code"}}, as the replicas the
//     project ships do.
//   - Slow clients: header and body reads and response writes have
//     deadlines (Config.ReadTimeout, RequestTimeout).
//
// /health (no key) answers 200 while the gateway has a backend, 503
// otherwise. /metrics (no key; it carries counts, no payloads or keys)
// exposes Prometheus text (prometheus/client_golang, its own registry): llmops_gateway_requests_total{deployment,
// revision,code}, llmops_gateway_errors_total{deployment,revision,code,
// reason}, the latency histogram llmops_gateway_request_duration_seconds
// {deployment,revision} of the requests a replica answered,
// llmops_gateway_tokens_total{deployment,revision,type}, the in-flight
// gauge per backend, the config generation and the start time. The
// request counters of each of Codes (and the gateway's refusal reasons)
// exist at zero from the first scrape of a revision, so a first 429 is an
// increase, not a new series. Parse and Window turn two scrapes into the
// rates and quantiles monitors check. The per-key rate limit is
// golang.org/x/time/rate.
//
// Listings: a serving provider publishes each deployment's endpoint and
// revision (never its keys) at <artifact store>/runs/gateways/<id>.json
// (Publish, Withdraw), so that a provider that did not create the
// deployment, such as the local provider's monitors watching a Slurm
// deployment, finds it with Lookup.
//
// Retrieval (Config.Retrieval, rag.go): for a retrieval-augmented
// deployment the gateway takes the question of a chat or completion,
// retrieves chunks with package retrieval, forwards the filled template
// instead, adds "citations" to the response (the first event of a
// stream) and counts MetricRetrievals by result (hit, empty, error).
//
// Capture (Config.Capture, capture.go): with a deployment's capture
// block, a sample of the completions and chat completions (prompt or
// messages, completion, model, revision, latency, tokens, status, request
// id; streams reassembled from their events) is written as records of
// package traffic to append-only segments in the deployment's traffic
// directory of the artifact store, redacted before anything is encoded.
// The request path only samples and queues (a bounded queue; a full one
// drops the record and counts it in MetricCaptureDropped); one goroutine
// parses, redacts, writes and seals segments (on size, age, reload and
// shutdown). POST /v1/feedback ({"request_id", "rating", "correction"}),
// authenticated and rate-limited like any call, writes a feedback record
// that readers join to the exchange by request id. Nothing is captured,
// and /v1/feedback answers 404, without a capture block.
//
// The boundary: the package depends on the standard library (its
// ReverseProxy forwards), prometheus/client_golang (metrics exposition),
// golang.org/x/time/rate (limits), cty (to read a deployment's access
// block, access.go), replicaauth, retrieval (the retrieval step) and traffic (the capture's format and redaction); it knows nothing of llmops' state,
// plans or the provider protocol.
package gateway
