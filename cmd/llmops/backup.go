package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/llmops/llmops/state"
)

// keepBackups is how many automatic state backups are kept.
const keepBackups = 10

func (m *meta) backupDir() string {
	return filepath.Join(filepath.Dir(m.stateFile()), "backups")
}

// backupState copies the state before an apply changes it, so a
// corrupted database can be put back with `llmops state restore`. A
// PostgreSQL state is not copied to each machine that applies: the
// server's own backups keep it (docs/backends.md).
func (m *meta) backupState(ctx context.Context, st state.Store) (string, error) {
	if _, ok := st.(*state.PostgresStore); ok {
		return "", nil
	}
	serial, err := st.LatestSerial(ctx)
	if err != nil {
		return "", err
	}
	if serial == 0 {
		return "", nil // nothing to lose yet
	}
	dir := m.backupDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("state-serial%06d-%s.db", serial, time.Now().UTC().Format("20060102T150405.000")))
	if err := st.Backup(ctx, path); err != nil {
		os.Remove(path)
		return "", err
	}
	backups := listBackups(dir)
	for len(backups) > keepBackups {
		os.Remove(backups[0])
		backups = backups[1:]
	}
	return path, nil
}

// listBackups returns the backup files, oldest first.
func listBackups(dir string) []string {
	matches, _ := filepath.Glob(filepath.Join(dir, "state-serial*.db"))
	sort.Strings(matches)
	return matches
}

// explainOpenError adds what to do to an error opening the state.
func (m *meta) explainOpenError(err error) string {
	var ce *state.CorruptError
	if !errors.As(err, &ce) {
		return fmt.Sprintf("%s: %s. Check that this user can read and write the file and its directory, and that the disk has free space; nothing was changed.", m.stateFile(), err)
	}
	return err.Error() + "\n\n" + m.restoreAdvice()
}

// restoreAdvice says which backup puts a damaged state back, and how.
func (m *meta) restoreAdvice() string {
	b := listBackups(m.backupDir())
	if len(b) == 0 {
		return "No automatic backup exists yet (one is taken before each apply). Restore the file from your own backups."
	}
	return fmt.Sprintf("The newest automatic backup, taken before the last apply, is %s. Run `llmops state restore` to put it back (the damaged file is kept beside it), then `llmops plan` to see what changed since.", b[len(b)-1])
}

// explainStateDamage adds restoreAdvice to the diagnostics that report a
// damaged object record, as a damaged file's error has it: the engine
// knows the record is unreadable, the CLI knows the backups.
func (m *meta) explainStateDamage(diags hcl.Diagnostics) hcl.Diagnostics {
	out := make(hcl.Diagnostics, 0, len(diags))
	for _, d := range diags {
		// A value sealed with another key is not damage: its message says which key.
		if d.Summary == "Invalid object in state" && !strings.Contains(d.Detail, "llmops state restore") && !strings.Contains(d.Detail, "was sealed with key") {
			c := *d
			c.Detail = strings.TrimRight(d.Detail, ".") + ": the record in the state is damaged.\n\n" + m.restoreAdvice() + " Or forget just this object with `llmops state rm` and import it again."
			d = &c
		}
		out = append(out, d)
	}
	return out
}

// stateRestore puts a backup back in place of the state database.
func stateRestore(m *meta, args []string) int {
	be, ok := m.backend()
	if !ok {
		return exitError
	}
	if be != nil {
		return m.errorDetail("state restore works on a local state only",
			fmt.Sprintf("It puts an automatic backup of .llmops/state.db back in place. This configuration keeps its state in PostgreSQL (schema %q): "+
				"restore that schema from the server's backups (pg_dump -n %s / pg_restore), as docs/backends.md describes.", be.Schema, be.Schema))
	}
	backups := listBackups(m.backupDir())
	src := ""
	switch {
	case len(args) == 1:
		src = args[0]
	case len(backups) > 0:
		src = backups[len(backups)-1]
	default:
		return m.errorDetail("No backup to restore", fmt.Sprintf("%s holds no backups; llmops takes one before each apply.", m.backupDir()))
	}
	ctx := context.Background()
	// The backup must itself be a sound state database.
	check, err := state.OpenSQLite(ctx, src)
	if err != nil {
		return m.errorDetail("The backup is not usable", err.Error())
	}
	serial, _ := check.LatestSerial(ctx)
	check.Close()
	dst := m.stateFile()
	if _, err := os.Stat(dst); err == nil {
		aside := dst + ".damaged-" + time.Now().UTC().Format("20060102T150405")
		if err := os.Rename(dst, aside); err != nil {
			return m.errorDetail("Cannot move the current state aside", err.Error())
		}
		fmt.Fprintf(m.stdout, "Moved the current state to %s.\n", aside)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(dst + suffix)
	}
	if err := copyFile(src, dst); err != nil {
		return m.errorDetail("Cannot restore the backup", err.Error())
	}
	fmt.Fprintf(m.stdout, "Restored %s (state serial %d) to %s. Run `llmops plan` to compare it with reality.\n", src, serial, dst)
	return exitOK
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".restoring"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
