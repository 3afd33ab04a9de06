// Package traffic is the format of a deployment's captured traffic: the
// records the gateway writes when a deployment has a `capture` block, the
// redaction applied to them before they touch disk, the append-only
// segment files that hold them, and the reading that every consumer
// shares (`llmops traffic`, a dataset whose source is
// `deployment.X.traffic`, the monitors' drift and quality checks).
//
// Layout, in the artifact store shared by the providers (Dir):
//
//	<store>/traffic/<deployment id>/            mode 0700
//	    seg-00000001.jsonl                      sealed: complete, never written again (0400)
//	    seg-00000002.jsonl.open                 the segment being written (0600)
//
// A segment is JSON lines of Records: exchanges (one request and its
// response) and feedback (a rating and correction posted later for a
// request id). A Writer appends to the open segment and seals it (a
// rename, then read-only) once it holds SegmentRows records, once its
// first record is SealAfter old, and when the gateway stops or reloads.
// Readers that must be reproducible (a dataset version) read sealed
// segments only: their bytes never change, so the same segments give the
// same snapshot and the same digest.
//
// Redaction (Redactor) replaces what built-in detectors (email, phone,
// api_key) and the configuration's regular expressions match with
// "[REDACTED:<name>]" in every text field of a record (prompt, message
// contents, completion, correction) before the record is written.
//
// Join puts each exchange together with the latest feedback for its
// request id; Snapshot turns the joined rows of the sealed segments (with
// an optional minimum rating) into the JSON lines of a dataset version.
//
// The boundary: the standard library only; it knows nothing of HTTP,
// state, plans or providers.
package traffic
