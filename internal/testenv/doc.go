// Package testenv gives the tests that run llmops as a subprocess an
// environment free of the developer's own llmops settings, and finds the
// services tests share (NeedAWS: the moto AWS emulator of
// scripts/aws-test-env.sh; NeedOCI: the registry of
// scripts/oci-test-env.sh), skipping with how to start them, or failing
// under LLMOPS_REQUIRE_SERVICES=1. It is used only by tests; nothing in
// the product imports it.
package testenv
