package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// helpCases are the help texts and usage errors kept as golden files in
// testdata/help/ (go test -run TestHelpGolden -update rewrites them);
// every command's -help is added by TestHelpGolden.
var helpCases = map[string][]string{
	"top":                    {"-help"},
	"unknown_command":        {"bogus"},
	"state":                  {"state", "-help"},
	"state_unknown":          {"state", "bogus"},
	"state_keygen":           {"state", "keygen", "-help"},
	"state_keygen_extra":     {"state", "keygen", "extra"},
	"providers_schema":       {"providers", "schema", "-help"},
	"providers_unknown":      {"providers", "bogus"},
	"artifacts_no_args_help": {"artifacts", "-help"},
}

func runInProcess(args ...string) string {
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", code, out.String(), errb.String())
}

func TestHelpGolden(t *testing.T) {
	dir, _ := filepath.Abs(filepath.Join("testdata", "help"))
	t.Chdir(t.TempDir()) // nothing a help text reads
	cases := map[string][]string{}
	for k, v := range helpCases {
		cases[k] = v
	}
	for name := range commands {
		cases["cmd_"+name] = []string{name, "-help"}
	}
	names := make([]string, 0, len(cases))
	for n := range cases {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			got := runInProcess(cases[name]...)
			path := filepath.Join(dir, name+".txt")
			if *update {
				os.MkdirAll(dir, 0o755)
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -run TestHelpGolden -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("llmops %s differs from %s (-update rewrites it):\n%s", strings.Join(cases[name], " "), path, got)
			}
			checkHelpText(t, got)
		})
	}
}

// flagLine is a flag's line in a help text: the flag and at most one word
// naming its argument ("-out FILE"); more words are a usage string whose
// backquotes Go's flag package took for the argument's name
// ("-out llmops apply FILE").
var flagLine = regexp.MustCompile(`^  -[a-z][a-z0-9-]*( [A-Za-z_.]+)?$`)

func checkHelpText(t *testing.T, text string) {
	t.Helper()
	inOptions := false
	for _, line := range strings.Split(text, "\n") {
		if line == "Options:" {
			inOptions = true
			continue
		}
		if inOptions && strings.HasPrefix(line, "  -") && !flagLine.MatchString(line) {
			t.Errorf("flag help line with stray words: %q", line)
		}
	}
	// A name run into its synopsis ("force-unlockRemove").
	if m := regexp.MustCompile(`(?m)^  [a-z-]+[a-z][A-Z]\w*`).FindString(text); m != "" {
		t.Errorf("a command name runs into its synopsis: %q", m)
	}
}

// docs/cli.md documents every command and every state subcommand.
func TestCLIDocListsEveryCommand(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for name := range commands {
		if !bytes.Contains(doc, []byte("| `"+name)) {
			missing = append(missing, name)
		}
	}
	for _, sub := range []string{"list", "show", "rm", "mv", "keygen", "rotate-key", "restore"} {
		if !bytes.Contains(doc, []byte("| `state "+sub)) {
			missing = append(missing, "state "+sub)
		}
	}
	for _, sub := range providersSubcommands {
		if !bytes.Contains(doc, []byte("| `providers "+sub)) {
			missing = append(missing, "providers "+sub)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("docs/cli.md has no row for: %s", strings.Join(missing, ", "))
	}
	for _, code := range []string{"| 3 |", "| 130 |"} {
		if !bytes.Contains(doc, []byte(code)) {
			t.Errorf("docs/cli.md does not list exit code %s", code)
		}
	}
	top := runInProcess("-help")
	for _, code := range []string{"  3 ", "  130 "} {
		if !strings.Contains(top, code) {
			t.Errorf("llmops -help does not list exit code %q", code)
		}
	}
}
