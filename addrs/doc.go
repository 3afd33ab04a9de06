// Package addrs holds the typed addresses that name things in an llmops
// configuration and its state: resources (`training_run.ft`,
// `null_value.r`), their instances (`deployment.prod[0]`,
// `dataset.d["eu"]`), module paths (`module.bot["en"]`, ModuleInstance;
// `module.bot`, Module) that prefix resource addresses, data sources
// (`data.model.base`), the endpoints of moved blocks, provider configurations (`local`, `slurm.onprem`) and
// the patterns used by -target and -exclude.
//
// It is a leaf package: it knows nothing of HCL bodies, plans or state
// storage, only how addresses are spelled, parsed and compared. Every other
// package passes these types instead of strings.
package addrs
