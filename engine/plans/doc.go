// Package plans holds the result of planning: for each resource instance
// the action the engine will take and why, the values before and after,
// the changes to outputs, the drift found by refresh, and what the plan
// was made against (state lineage and serial, configuration digest,
// provider binary hashes, variable values). It reads and writes saved plan
// files (`plan -out`), which carry the sha256 of their content so that an
// edited or damaged file is refused, and checks a saved plan against what
// it was made for (CheckState, CheckConfig, CheckProviders).
//
// It does no planning itself and knows nothing of terminals; rendering is
// the CLI's job.
package plans
