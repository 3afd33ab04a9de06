package main

import (
	"fmt"

	"github.com/llmops/llmops/engine/secrets"
	"github.com/llmops/llmops/engine/values"
)

// stateKey returns the configured state key as a values.Sealer, or nil
// when none is configured. A malformed key is an error.
func (m *meta) stateKey() (values.Sealer, bool) {
	k, err := secrets.FromEnv()
	if err != nil {
		m.errorDetail("Invalid state key", err.Error())
		return nil, false
	}
	if k == nil {
		return nil, true
	}
	return k, true
}

const keygenUsage = `
Usage: llmops state keygen

Prints a new random state key (32 bytes, base64). Keep it safe, like a
password: llmops seals the sensitive values of the state and of saved
plans with it. Use it with LLMOPS_STATE_KEY=... or save it to a file
named by LLMOPS_STATE_KEY_FILE.
`

func stateKeygen(m *meta) int {
	k, err := secrets.Generate()
	if err != nil {
		return m.errorDetail("Cannot generate a key", err.Error())
	}
	fmt.Fprintln(m.stdout, k)
	return exitOK
}
