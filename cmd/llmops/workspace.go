package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/llmops/llmops/engine"
)

// workspaceEnv selects the workspace, over `llmops workspace select`.
const workspaceEnv = "LLMOPS_WORKSPACE"

var workspaceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// workspaceFile records the workspace `llmops workspace select` chose.
func (m *meta) workspaceFile() string { return filepath.Join(m.workDir(), ".llmops", "environment") }

// workspace is the selected workspace: $LLMOPS_WORKSPACE, else the one
// `workspace select` recorded, else default. An invalid name is refused
// by checkWorkspace.
func (m *meta) workspace() string {
	if ws := strings.TrimSpace(os.Getenv(workspaceEnv)); ws != "" {
		return ws
	}
	if b, err := os.ReadFile(m.workspaceFile()); err == nil {
		if ws := strings.TrimSpace(string(b)); ws != "" {
			return ws
		}
	}
	return engine.DefaultWorkspace
}

// validWorkspaceName explains what is wrong with a workspace name, or "".
func validWorkspaceName(name string) string {
	if !workspaceNameRE.MatchString(name) {
		return fmt.Sprintf("%q is not a valid workspace name: use letters, digits, '-' and '_' (up to 64, starting with a letter or digit)", name)
	}
	return ""
}

// checkWorkspace refuses an invalid selected workspace (a bad
// LLMOPS_WORKSPACE) before any state is opened.
func (m *meta) checkWorkspace() bool {
	if msg := validWorkspaceName(m.workspace()); msg != "" {
		m.errorDetail("Invalid workspace", msg+". Check "+workspaceEnv+" or .llmops/environment.")
		return false
	}
	return true
}
