// Command bench measures llmops against Terraform on the same machine in
// the same run (issue: performance): it generates a configuration of N
// null_value resources in ten independent chains and the identical
// Terraform configuration with the built-in terraform_data resource, runs
// apply from empty, a no-op plan, a plan after changing every 100th
// resource and destroy with both, and prints one table of wall time, peak
// RSS and the ratio. It also compares dataset hashing with sha256sum.
//
// Run it with `make bench` (N = 100 and 1000) or `BENCH_N=10000 make bench`.
// Terraform comes from $TERRAFORM or $PATH; without it the llmops half
// still runs.
package main
