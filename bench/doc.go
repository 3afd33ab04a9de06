// Command bench measures llmops against Terraform on the same machine in
// the same run (issue: performance): it generates a configuration of N
// null_value resources in ten independent chains and the identical
// Terraform configuration with the built-in terraform_data resource, runs
// apply from empty, a no-op plan, a plan after changing every 100th
// resource and destroy with both, and prints one table of wall time, peak
// RSS and the ratio. llmops runs twice, with the default SQLite state and
// with the PostgreSQL backend (a local server the bench starts with
// scripts/postgres-test-env.sh, fsync and synchronous_commit on, or
// $BENCH_POSTGRES_URL; BENCH_POSTGRES=none skips it). It also compares
// dataset hashing with sha256sum.
//
// Run it with `make bench` (N = 100 and 1000) or `BENCH_N=10000 make bench`.
// Terraform comes from $TERRAFORM or $PATH; without it (or with
// TERRAFORM=none) the llmops half still runs. BENCH_REPEAT=K runs each
// size K times and reports the median of each figure.
package main
