// Package ui is `llmops ui`: a read-only web dashboard of the lifecycle
// over the state, the artifact store and the deployments' gateways, and
// the JSON API its pages use (docs/json-format.md, "The dashboard's API";
// docs/ui.md shows the pages).
//
//   - The API (api_*.go) answers from the state.Store it is given, read
//     only: it never takes the state lock, never begins a version, and
//     never opens sealed values (it is given no state key; sensitive parts
//     are null with a `sensitive_values` tree, as in `llmops show -json`).
//     Diffs, lineage, histories and events come from engine/history and are
//     encoded by cmd/llmops/render exactly as `llmops diff|lineage|history|
//     events -json` encode them. The objects of the newest version are
//     decoded once per version (view.go), so the overview of a large state
//     pages through summaries without decoding it again.
//   - Training runs' and evaluations' curves come from their metrics.jsonl,
//     found from the recorded object (plugins/sdk/jobs.FindOutputDir), read
//     incrementally by byte offset so a page polling a running job gets
//     only the new lines. Deployments' traffic comes from their gateway's
//     Prometheus /metrics (plugins/sdk/gateway: Scrape, SnapshotOf, Window),
//     scraped at most every few seconds while a page asks, kept in memory.
//   - The pages (static/) are plain HTML, CSS and JavaScript modules
//     embedded in the binary, with two vendored libraries: uPlot (charts)
//     and dagre (graph layout). They poll the API for live updates. No page
//     changes anything: each shows the CLI command that would.
//   - Access (auth.go): a token, when the server is given one (any listen
//     address but loopback), is required on every request, as
//     `Authorization: Bearer`, a cookie, or once as `?token=`, which sets
//     the cookie; without one, only requests whose Host is a loopback name
//     are served (against DNS rebinding).
//
// The boundary: the package knows the state, engine/history, the render
// package's JSON encodings and the SDK's job and gateway helpers; it does
// not import any provider, does not load the configuration and does not
// print. The command (cmd/llmops, cmd_ui.go) opens the state, finds the
// artifact store, listens and hands them over.
package ui
