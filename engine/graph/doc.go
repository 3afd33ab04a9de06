// Package graph is a small directed acyclic graph of comparable nodes with
// cycle detection (which names every node of a cycle) and a parallel walk
// that runs each node after all of its dependencies, at most N at a time,
// and skips the dependents of a node that fails.
//
// It knows nothing of configurations or providers: nodes are opaque keys.
package graph
