// Package testenv gives the tests that run llmops as a subprocess an
// environment free of the developer's own llmops settings. It is used only
// by tests; nothing in the product imports it.
package testenv
