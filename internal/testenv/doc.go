// Package testenv gives tests what they share about their environment: an
// environment free of the developer's own llmops settings for the tests
// that run llmops as a subprocess (Clean), the PostgreSQL test server of
// scripts/postgres-test-env.sh, with a schema of its own per test
// (PostgresURL, PostgresSchema), and the services of the artifact store
// tests (NeedAWS: the moto AWS emulator of scripts/aws-test-env.sh;
// NeedOCI: the registry of scripts/oci-test-env.sh). Without a service,
// a test skips with how to start it, and fails under
// LLMOPS_REQUIRE_SERVICES=1. It is used only by tests; nothing in the
// product imports it.
package testenv
