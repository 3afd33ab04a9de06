// Package scrub removes known secrets from text before it is shown or
// written: error messages, diagnostics, log lines, job logs.
//
// A Set holds the secrets a process knows (sensitive variables, values
// opened from sealed state, configuration values marked sensitive, the
// sensitive attributes a provider was given). String replaces each
// occurrence of one with Mask, "(sensitive)"; Writer does the same to a
// stream, holding back only the tail of what it was given that could be
// the start of a secret, so a secret split across two writes is still
// caught. Each secret is also looked for in the forms it takes when it is
// quoted: JSON and Go string escapes, shell single quotes and URL escapes.
//
// Values shorter than MinLen bytes are not secrets worth hiding by text
// (masking every "1" or "true" would destroy the output and hide nothing):
// they are ignored. Marks on values (engine/values) remain the first line
// of defence; a Set is the net under everything that reaches text.
//
// The boundary: the standard library only, so the engine, the CLI, the
// provider SDK and the programs providers start (job supervisors, gateways)
// all use the same rules.
package scrub
