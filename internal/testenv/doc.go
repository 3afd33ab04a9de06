// Package testenv gives tests what they share about their environment: an
// environment free of the developer's own llmops settings for the tests
// that run llmops as a subprocess (Clean), and the PostgreSQL test server
// of scripts/postgres-test-env.sh, with a schema of its own per test
// (PostgresURL, PostgresSchema), skipped with how to run it when there is
// none, failed under LLMOPS_REQUIRE_SERVICES=1. It is used only by tests;
// nothing in the product imports it.
package testenv
