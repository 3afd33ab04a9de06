package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/llmops/llmops/internal/panics"
)

// crashed reports a panic, which is a bug in llmops, as an error: the
// state locks the run holds are released (a panic in the command's
// goroutine has released them already, through its defers), the stack
// goes to the run's log, stderr names that log, and the exit code is 1.
func (m *meta) crashed(e *panics.Error) int {
	m.releaseLocks()
	where := "Its stack trace follows; please report it with this output.\n\n" + string(e.Stack)
	if path := m.writeCrash(e); path != "" {
		if rel, err := filepath.Rel(m.workDir(), path); err == nil && !strings.HasPrefix(rel, "..") {
			path = rel
		}
		where = fmt.Sprintf("Its stack trace is in %s; please report it with that file.", path)
	}
	fmt.Fprintf(m.stderr, "\nError: llmops crashed: %v\n\nThis is a bug in llmops. %s\n", e.Value, where)
	m.heldMu.Lock()
	locked := m.locked
	m.heldMu.Unlock()
	if locked {
		fmt.Fprintln(m.stderr, "The state lock was released. Every change that finished before the crash is recorded in the state; run `llmops plan` to see where things stand.")
	}
	return exitError
}

// writeCrash appends the panic and its stack to the run's log file and
// returns the file's path, or "" when there is no log.
func (m *meta) writeCrash(e *panics.Error) (path string) {
	defer func() {
		if recover() != nil { // a crash while reporting a crash: print the stack instead
			path = ""
		}
	}()
	m.logger() // creates the log file if this run has none yet
	if theLogPath == "" {
		return ""
	}
	f, err := os.OpenFile(theLogPath, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "\nllmops %s crashed: panic: %v\n\n%s\n", Version, e.Value, e.Stack); err != nil {
		return ""
	}
	return theLogPath
}
