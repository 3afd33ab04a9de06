package jobs

import (
	"fmt"
	"slices"
	"strings"
)

// DefaultPassthrough is the part of the caller's environment that jobs and
// serving replicas started on the llmops host get, besides the job
// contract's variables and their own `env` (docs/job-contract.md). A name
// ending in `*` stands for every variable with that prefix. A provider
// block extends it with `env_passthrough = ["NAME", "PREFIX_*"]`.
var DefaultPassthrough = []string{
	// Where programs and their files are.
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TMPDIR", "LD_LIBRARY_PATH",
	// Language and time.
	"LANG", "LANGUAGE", "LC_*", "TZ",
	// Proxies and certificates.
	"http_proxy", "https_proxy", "no_proxy", "all_proxy",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
	// GPUs and the ML stack.
	"CUDA_*", "NVIDIA_*", "NCCL_*", "HF_*", "TRANSFORMERS_*", "TORCH_*", "XDG_CACHE_HOME",
	"OMP_NUM_THREADS", "MKL_NUM_THREADS",
	// Python and Go toolchains (commands such as `go run ./train`).
	"PYTHONPATH", "PYTHONHOME", "PYTHONUNBUFFERED", "VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV",
	"GOROOT", "GOPATH", "GOCACHE", "GOMODCACHE", "GOFLAGS", "GOPROXY", "GOSUMDB", "GONOSUMDB",
	"GOPRIVATE", "GONOPROXY", "GOTOOLCHAIN", "GOENV", "GOTMPDIR",
}

// HostOnly reports whether an environment variable stays with llmops and
// never reaches a provider, a job or a replica: the state key
// (LLMOPS_STATE_KEY, LLMOPS_STATE_KEY_FILE) and input variables
// (LLMOPS_VAR_<name>).
func HostOnly(name string) bool {
	return name == "LLMOPS_STATE_KEY" || name == "LLMOPS_STATE_KEY_FILE" || strings.HasPrefix(name, "LLMOPS_VAR_")
}

// matchName reports whether name matches a pattern of an allow-list.
func matchName(pattern, name string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(name, p)
	}
	return pattern == name
}

// Passthrough returns the variables of environ (NAME=VALUE, usually
// os.Environ()) that DefaultPassthrough or extra allow, never a host-only
// variable or a contract variable.
func Passthrough(environ []string, extra []string) []string {
	return Allowed(environ, slices.Concat(DefaultPassthrough, extra))
}

// Allowed returns the variables of environ that the allow-list names (a
// name ending in `*` is a prefix), never a host-only variable or a contract
// variable. Providers whose jobs run elsewhere (a cluster's nodes) use it
// with their own default list.
func Allowed(environ []string, allow []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if name == "" || HostOnly(name) || IsContractVar(name) {
			continue
		}
		if slices.ContainsFunc(allow, func(p string) bool { return matchName(p, name) }) {
			out = append(out, kv)
		}
	}
	return out
}

// CheckPassthrough returns an error for an env_passthrough entry that is
// not a variable name (or a prefix ending in `*`), or that names a variable
// no child may get.
func CheckPassthrough(names []string) error {
	for _, n := range names {
		base := strings.TrimSuffix(n, "*")
		if base == "" || strings.ContainsAny(base, "=*\x00") || strings.ContainsFunc(base, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return fmt.Errorf("%q is not an environment variable name (or a prefix ending in *)", n)
		}
		prefix := strings.HasSuffix(n, "*") && (strings.HasPrefix("LLMOPS_VAR_", base) || strings.HasPrefix("LLMOPS_STATE_KEY", base))
		if HostOnly(base) || prefix {
			return fmt.Errorf("%q would pass llmops' own secrets (LLMOPS_STATE_KEY, LLMOPS_STATE_KEY_FILE, LLMOPS_VAR_*), which no job or replica ever gets", n)
		}
	}
	return nil
}
