package main

import (
	"strings"
	"testing"
)

// The state key the secret tests run with (base64 of 32 bytes).
const testStateKey = "c2VjcmV0cy10ZXN0LXN0YXRlLWtleS0zMi1ieXRlcyE="

// Errors that would quote a sensitive value show (sensitive) in its place:
// a validation message, a function's error, a provider's error quoting a
// path built from it, and a failing job's log, failure message and the
// apply summary. The state key never shows either.
func TestE2EErrorsShowSensitiveValuesAsSensitive(t *testing.T) {
	const secret = "tok-err-secret-8675309"
	for name, tc := range map[string]struct {
		hcl  string
		cmd  []string
		want []string
	}{
		"validation message": {
			hcl: `
variable "k" {
  type      = string
  sensitive = true
  validation {
    condition     = substr(var.k, 0, 3) == "sk-"
    error_message = "The key ${var.k} must start with sk- (${upper(var.k)})."
  }
}
`,
			cmd:  []string{"plan"},
			want: []string{"The key (sensitive) must start with sk- ((sensitive))."},
		},
		"function error": {
			hcl: `
variable "k" {
  type      = string
  sensitive = true
}
output "n" {
  value     = tonumber(var.k)
  sensitive = true
}
`,
			cmd:  []string{"plan"},
			want: []string{`cannot convert "(sensitive)" to number`},
		},
		"provider error": {
			hcl: `
variable "k" {
  type      = string
  sensitive = true
}
model "m" {
  source = "file://models/${var.k}/weights"
}
`,
			cmd:  []string{"plan"},
			want: []string{"models/(sensitive)/weights does not exist"},
		},
		"failing job": {
			hcl: `
variable "k" {
  type      = string
  sensitive = true
}
dataset "d" {
  source = "file://data.jsonl"
  transform {
    command = ["sh", "-c", "echo token is $TOKEN; echo argv is \"$1\"; exit 3", "sh", "--key=${var.k}"]
    env     = { TOKEN = var.k }
  }
}
`,
			cmd:  []string{"apply", "-auto-approve"},
			want: []string{"token is (sensitive)", "argv is (sensitive)", "llmops: starting sh -c", "Apply failed"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			w := newWorkspace(t, map[string]string{"main.llmops.hcl": tc.hcl, "data.jsonl": "{\"text\": \"a\"}\n"})
			w.env = append(w.env, "LLMOPS_VAR_k="+secret, "LLMOPS_STATE_KEY="+testStateKey)
			w.must(0, "init")
			r := w.run(tc.cmd...)
			out := r.stdout + r.stderr
			if r.code == 0 {
				t.Fatalf("llmops %s succeeded:\n%s", strings.Join(tc.cmd, " "), r)
			}
			for _, s := range []string{secret, testStateKey} {
				if strings.Contains(out, s) {
					t.Errorf("the output shows %q:\n%s", s, r)
				}
			}
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("the output lacks %q:\n%s", want, r)
				}
			}
		})
	}
}
