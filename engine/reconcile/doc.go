// Package reconcile is what `llmops watch` does on every pass: from a
// fresh plan (refresh included) and the state's event log it decides what
// needs doing, then does it through a Session:
//
//   - every monitor check found out of bounds that is not already open for
//     the same deployment revision is a new breach: an event, its alerts
//     (webhook or command, retried), and, with on_breach = "rollback", a
//     rollback of the deployment to its previous revision (once: a
//     deployment already rolled back stays where it is);
//   - an open breach whose check is back within bounds is a recovery;
//   - deployments whose replicas died (drift of a deployment, a plan that
//     only updates it) are restarted: a plan and apply limited to them;
//   - every other change or drift is reported, never applied.
//
// Decide is the pure half (a plan and events in, decisions out), so every
// rule is unit tested; Reconciler.Pass carries the decisions out and
// records each outcome in the event log.
//
// The boundary: the package decides and sequences; planning, applying,
// rolling back and locking are the Session's (the CLI implements it over
// the engine, taking the state lock only while something changes), and
// rendering is the caller's (diagnostics go to Session.Report).
package reconcile
