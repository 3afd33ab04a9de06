// Package plans holds the result of planning: for each resource instance
// the action the engine will take and why, the values before and after,
// the changes to outputs, the drift found by refresh, and what the plan
// was made against (state lineage and serial, configuration digest,
// provider binary hashes, variable values). It reads and writes saved plan
// files (`plan -out`).
//
// It does no planning itself and knows nothing of terminals; rendering is
// the CLI's job.
package plans
