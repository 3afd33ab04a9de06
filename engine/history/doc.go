// Package history reads the state's versions for the maintenance
// commands: what changed between two versions, the lineage of an object
// (from a deployment down to its model, training run, base model and
// dataset versions, per instance: the state records dependencies per
// resource, so the instance an object was made from is found by the ids
// and digests in its values), which artifacts any kept version references (for
// gc), the rollback pins recorded in the event log, and the
// reproducibility record of a training run.
//
// It only reads: snapshots and events in, plain data out. Changing
// anything (rollback, gc) is done by the engine and the CLI.
package history
