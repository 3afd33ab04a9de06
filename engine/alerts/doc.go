// Package alerts delivers a monitor's breach to where its `alert` block
// says: a webhook (an HTTP POST of the JSON payload) or a command (the
// payload on its standard input), retrying with backoff. It also reads
// the breaches a monitor's refreshed state reports.
//
// It does not decide when to alert (llmops watch does) and records
// nothing itself: the caller writes the outcome to the state's event log.
package alerts
