package main

import (
	"context"
	"fmt"
	"os"

	"github.com/llmops/llmops/engine/secrets"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/state"
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
	// Every value the key seals or opens becomes a secret the output is
	// scrubbed of.
	return witnessKey{Sealer: k, m: m}, true
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

const rotateUsage = `
Usage: llmops state rotate-key -new-key-file FILE

Re-seals every sensitive value of the state (every version, every output)
with a new key, in one transaction. The current key comes from
LLMOPS_STATE_KEY or LLMOPS_STATE_KEY_FILE as always; the new one from
-new-key-file (make one with "llmops state keygen"). Afterwards, use the
new key. Backups taken before the rotation keep needing the old key.
`

func stateRotateKey(m *meta, st state.Store, newKeyFile string) int {
	if newKeyFile == "" {
		return m.errorDetail("No new key", "Give the new key with -new-key-file FILE (create it with `llmops state keygen > FILE`).")
	}
	oldKey, ok := m.stateKey()
	if !ok {
		return exitError
	}
	if oldKey == nil {
		return m.errorDetail("No current key", "Set LLMOPS_STATE_KEY or LLMOPS_STATE_KEY_FILE to the key the state is sealed with.")
	}
	b, err := os.ReadFile(newKeyFile)
	if err != nil {
		return m.errorDetail("Cannot read the new key", err.Error())
	}
	newKey, err := secrets.ParseKey(string(b))
	if err != nil {
		return m.errorDetail("Invalid new key", err.Error())
	}
	rw, ok := st.(state.SecretsRewriter)
	if !ok {
		return m.errorf("this state backend cannot rotate keys")
	}
	ctx := context.Background()
	unlock, ok := m.lock(ctx, st, "state rotate-key")
	if !ok {
		return exitError
	}
	defer unlock()
	if _, err := m.backupState(ctx, st); err != nil {
		return m.errorDetail("Cannot back up the state", err.Error())
	}
	n, err := rw.RewriteSecrets(ctx,
		func(b []byte) ([]byte, error) { return values.Reseal(b, oldKey, newKey) },
		func(o *state.Output) error {
			v, err := values.ResealOutput(o.ValueJSON, o.Sensitive, oldKey, newKey)
			o.ValueJSON = v
			return err
		})
	if err != nil {
		return m.errorDetail("The key was not rotated", fmt.Sprintf("%s. Nothing was changed.", err))
	}
	fmt.Fprintf(m.stdout, "Re-sealed %d record(s) with the new key %s. Use it from now on (LLMOPS_STATE_KEY or LLMOPS_STATE_KEY_FILE); backups taken before now still need the old key.\n", n, newKey.ID())
	return exitOK
}
