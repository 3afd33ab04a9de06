package cliconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Environment variables read by Load.
const (
	// EnvFile names the CLI configuration file (default ~/.llmopsrc).
	EnvFile = "LLMOPS_CLI_CONFIG_FILE"
	// EnvDevOverrides lists TYPE=PATH overrides, comma-separated.
	EnvDevOverrides = "LLMOPS_DEV_OVERRIDES"
	// DefaultFile is the file read from the home directory.
	DefaultFile = ".llmopsrc"
)

// Override is one provider development override.
type Override struct {
	// Type is the provider type, e.g. "echo".
	Type string
	// Path is the provider's executable (resolved from a directory).
	Path string
	// From says where it was set: the file's path or EnvDevOverrides.
	From string
}

// Config is the CLI configuration.
type Config struct {
	// File is the configuration file read ("" when there is none).
	File string
	// DevOverrides are the provider development overrides, by type.
	DevOverrides map[string]*Override
}

// Types lists the overridden provider types in order.
func (c *Config) Types() []string {
	out := make([]string, 0, len(c.DevOverrides))
	for t := range c.DevOverrides {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Load reads the CLI configuration: the file named by $LLMOPS_CLI_CONFIG_FILE
// (an error when missing), else home/.llmopsrc when it exists, then
// $LLMOPS_DEV_OVERRIDES. getenv is os.Getenv in the CLI.
func Load(getenv func(string) string, home string) (*Config, hcl.Diagnostics) {
	c := &Config{DevOverrides: map[string]*Override{}}
	var diags hcl.Diagnostics
	file, explicit := getenv(EnvFile), true
	if file == "" && home != "" {
		file, explicit = filepath.Join(home, DefaultFile), false
	}
	if file != "" {
		src, err := os.ReadFile(file)
		switch {
		case err == nil:
			c.File = file
			diags = append(diags, c.parseFile(file, src)...)
		case explicit || !os.IsNotExist(err):
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read the CLI configuration file",
				Detail: fmt.Sprintf("%s (named by $%s): %s. Fix the path or unset %s.", file, EnvFile, err, EnvFile)})
		}
	}
	if env := getenv(EnvDevOverrides); env != "" {
		for _, item := range strings.Split(env, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			typ, path, ok := strings.Cut(item, "=")
			if !ok || !identRE.MatchString(typ) || path == "" {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + EnvDevOverrides,
					Detail: fmt.Sprintf("%q is not TYPE=PATH: write %s=echo=/path/to/llmops-provider-echo (several separated by commas).", item, EnvDevOverrides)})
				continue
			}
			diags = append(diags, c.add(typ, path, EnvDevOverrides, nil)...)
		}
	}
	return c, diags
}

var identRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// quotedKeyRE finds a quoted argument name at the start of a line
// ("echo" = ...), which Terraform's CLI configuration allows and HCL's
// native syntax does not.
var quotedKeyRE = regexp.MustCompile(`(?m)^(\s*)"([a-z][a-z0-9_-]*)"(\s*=)`)

func (c *Config) parseFile(file string, src []byte) hcl.Diagnostics {
	// "echo" = "/path" becomes  echo  = "/path": the same length, so
	// every position in a diagnostic stays right.
	src = quotedKeyRE.ReplaceAll(src, []byte(`$1 $2 $3`))
	f, diags := hclsyntax.ParseConfig(src, file, hcl.InitialPos)
	if diags.HasErrors() {
		return diags
	}
	content, ds := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "provider_installation"}}})
	diags = append(diags, ds...)
	for _, pi := range content.Blocks {
		inner, ds := pi.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "dev_overrides"}}})
		diags = append(diags, ds...)
		for _, dob := range inner.Blocks {
			attrs, ds := dob.Body.JustAttributes()
			diags = append(diags, ds...)
			names := make([]string, 0, len(attrs))
			for n := range attrs {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				a := attrs[n]
				v, ds := a.Expr.Value(nil)
				diags = append(diags, ds...)
				if ds.HasErrors() {
					continue
				}
				if v.IsNull() || !v.Type().Equals(cty.String) {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid dev override",
						Detail: fmt.Sprintf("The override of provider %q must be a path (a string): the directory that holds llmops-provider-%s, or the binary.", n, n), Subject: a.Expr.Range().Ptr()})
					continue
				}
				diags = append(diags, c.add(n, v.AsString(), file, a.Expr.Range().Ptr())...)
			}
		}
	}
	return diags
}

// add records an override, resolving a directory to the binary in it.
func (c *Config) add(typ, path, from string, rng *hcl.Range) hcl.Diagnostics {
	if strings.HasPrefix(path, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, path[2:])
		}
	}
	if !filepath.IsAbs(path) && from != EnvDevOverrides {
		path = filepath.Join(filepath.Dir(from), path)
	}
	abs, err := filepath.Abs(path)
	if err == nil {
		path = abs
	}
	exe := "llmops-provider-" + typ
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, exe)
	}
	st, err := os.Stat(path)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		what := "does not exist"
		if err == nil {
			what = "is not an executable file"
		}
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid dev override",
			Detail:  fmt.Sprintf("The override of provider %s (set in %s) names %s, which %s. Build the provider there (go build -o %s .) or fix the path.", typ, from, path, what, exe),
			Subject: rng}}
	}
	c.DevOverrides[typ] = &Override{Type: typ, Path: path, From: from}
	return nil
}

// Warning is the warning every command prints while overrides are in
// effect, as Terraform does.
func (c *Config) Warning() *hcl.Diagnostic {
	if len(c.DevOverrides) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("These providers run from where they are built, not from the lock file's checksums:")
	for _, t := range c.Types() {
		o := c.DevOverrides[t]
		fmt.Fprintf(&b, "\n - %s in %s (from %s)", t, o.Path, o.From)
	}
	b.WriteString("\nThey may not behave as any release does, and applying with them may record state a release cannot read. Remove the overrides to use the locked providers again.")
	return &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Provider development overrides are in effect", Detail: b.String()}
}
