package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/llmops/llmops/engine/secrets"
	"github.com/llmops/llmops/engine/values"
	"github.com/llmops/llmops/state"
)

// stateKey returns the configured state key as a values.Sealer, or nil
// when none is configured. A malformed key is an error.
func (m *meta) stateKey() (values.Sealer, bool) {
	m.warnKeyFileMode()
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
Usage: llmops state keygen [-out FILE]

Prints a new random state key (32 bytes, base64), or with -out writes it to
FILE, created with mode 0600 (an existing file is not overwritten). Keep it
safe, like a password: llmops seals the sensitive values of the state and
of saved plans with it. Use it with LLMOPS_STATE_KEY=... or name the file
with LLMOPS_STATE_KEY_FILE.
`

func stateKeygen(m *meta, args []string) int {
	fs := m.newFlags("state keygen", keygenUsage)
	out := fs.String("out", "", "Write the key to `FILE` (created with mode 0600) instead of printing it.")
	if ok, code := m.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		// Not a key printed for a mistyped option (-help once did so).
		return m.errorDetail(fmt.Sprintf("Unexpected argument %q", fs.Arg(0)), "llmops state keygen takes no argument: it prints a new key, or writes it to the file given with -out FILE. See llmops state keygen -help.")
	}
	k, err := secrets.Generate()
	if err != nil {
		return m.errorDetail("Cannot generate a key", err.Error())
	}
	if *out == "" {
		// A new secret printed on purpose: past the scrubber.
		fmt.Fprintln(m.rawStdout, k)
		return exitOK
	}
	f, err := os.OpenFile(*out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return m.errorDetail("The key file exists", fmt.Sprintf("%s exists already; llmops does not overwrite a key (the state may be sealed with it). Choose another file, or remove this one if you are sure it is not in use.", *out))
		}
		return m.errorDetail("Cannot write the key file", err.Error())
	}
	_, err = fmt.Fprintln(f, k)
	if err == nil {
		err = f.Chmod(0o600) // whatever the umask
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		return m.errorDetail("Cannot write the key file", err.Error())
	}
	fmt.Fprintf(m.stdout, "Wrote a new state key to %s (mode 0600). Use it with LLMOPS_STATE_KEY_FILE=%s.\n", *out, *out)
	return exitOK
}

// rotationSource opens sealed text with the current key, or with the
// rotation's target key when the text is sealed with it already.
type rotationSource struct{ current, target *secrets.Key }

func (r rotationSource) Seal(plain []byte) (string, error) { return r.target.Seal(plain) }
func (r rotationSource) Open(text string) ([]byte, error) {
	if secrets.SealedKeyID(text) == r.target.ID() {
		return r.target.Open(text)
	}
	return r.current.Open(text)
}

// warnKeyFileMode warns, once, when the state key file can be read by
// others than its owner, as ssh does for a private key.
func (m *meta) warnKeyFileMode() {
	p := os.Getenv(secrets.EnvKeyFile)
	if p == "" || os.Getenv(secrets.EnvKey) != "" || m.warnedKeyMode {
		return
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	m.warnedKeyMode = true
	m.showDiags(hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "The state key file is readable by others",
		Detail: fmt.Sprintf("%s (named by %s) has mode %04o: anyone in its group or on this machine who can read it can open every sealed value of the state. Run `chmod 600 %s`.", p, secrets.EnvKeyFile, fi.Mode().Perm(), p)}})
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
	m.warnKeyFileMode()
	current, err := secrets.FromEnv()
	if err != nil {
		return m.errorDetail("Invalid state key", err.Error())
	}
	if current == nil {
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
	m.secrets.Add(strings.TrimSpace(string(b)))
	// What is sealed with the new key already (a rotation that finished
	// but was killed before it said so) is opened with it: running the
	// same rotation again always completes it.
	oldKey := rotationSource{current: current, target: newKey}
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
		return m.errorDetail("The key was not rotated", fmt.Sprintf("%s. Nothing was changed: the state opens with the key it opened with before.", err))
	}
	fmt.Fprintf(m.stdout, "Re-sealed %d record(s) with the new key %s. Use it from now on (LLMOPS_STATE_KEY or LLMOPS_STATE_KEY_FILE); backups taken before now still need the old key.\n", n, newKey.ID())
	return exitOK
}
