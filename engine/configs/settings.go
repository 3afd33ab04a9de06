package configs

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

// Settings is the `llmops` block: settings of llmops itself for this
// configuration rather than objects to manage. At most one per
// configuration.
type Settings struct {
	// Backend is where the state is kept; nil for the default, the SQLite
	// file .llmops/state.db.
	Backend   *Backend
	DeclRange hcl.Range
}

// Backend is the `backend "TYPE"` block of the llmops block.
type Backend struct {
	// Type is the backend's label; "postgres" is the one there is.
	Type string
	// Schema is the PostgreSQL schema of the state, one per configuration.
	Schema string
	// ConnStr is the libpq connection string or URL, empty when the file
	// leaves the connection to the environment (DATABASE_URL, PGHOST, ...).
	ConnStr string

	DeclRange   hcl.Range
	TypeRange   hcl.Range
	SchemaRange hcl.Range
}

// BackendTypes are the state backends a configuration may name.
var BackendTypes = []string{"postgres"}

var settingsSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "backend", LabelNames: []string{"type"}}},
}

var postgresBackendSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "schema", Required: true}, {Name: "conn_str"}},
}

// backendSchemaRE is what a state schema may be called: a lower-case
// PostgreSQL identifier, which reads the same quoted or not (the state
// package checks the same rule).
var backendSchemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

func (c *Config) addSettings(b *hcl.Block) hcl.Diagnostics {
	if c.Settings != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Duplicate llmops block",
			Detail:   fmt.Sprintf("An llmops block was already declared at %s. A configuration has at most one: merge them.", Pos(c.Settings.DeclRange)),
			Subject:  b.DefRange.Ptr(),
		}}
	}
	s, diags := decodeSettings(b)
	c.Settings = s
	return diags
}

func decodeSettings(b *hcl.Block) (*Settings, hcl.Diagnostics) {
	s := &Settings{DeclRange: b.DefRange}
	content, diags := b.Body.Content(settingsSchema)
	diags = retitle(diags, "in the llmops block", "The llmops block takes one backend block, e.g. backend \"postgres\" { schema = \"my_state\" }.")
	for _, bb := range content.Blocks {
		if s.Backend != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate backend block",
				Detail:   fmt.Sprintf("A backend block was already declared at %s. The state lives in one backend: remove one of them.", Pos(s.Backend.DeclRange)),
				Subject:  bb.DefRange.Ptr(),
			})
			continue
		}
		be, ds := decodeBackend(bb)
		diags = append(diags, ds...)
		s.Backend = be
	}
	return s, diags
}

func decodeBackend(b *hcl.Block) (*Backend, hcl.Diagnostics) {
	typ := b.Labels[0]
	if typ != "postgres" {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Unsupported state backend %q", typ),
			Detail: fmt.Sprintf("llmops keeps the state in PostgreSQL with backend \"postgres\" { schema = \"...\" }, or, without a backend block, "+
				"in the SQLite file .llmops/state.db. Supported backends: %s.", strings.Join(BackendTypes, ", ")),
			Subject: b.LabelRanges[0].Ptr(),
		}}
	}
	be := &Backend{Type: typ, DeclRange: b.DefRange, TypeRange: b.LabelRanges[0]}
	content, diags := b.Body.Content(postgresBackendSchema)
	diags = retitle(diags, "in the postgres backend",
		"The postgres backend takes schema (required: the PostgreSQL schema of this configuration's state) and conn_str "+
			"(optional: a libpq connection string or URL; without it the connection comes from DATABASE_URL or PGHOST, PGUSER, PGPASSWORD, PGSSLMODE, ...).")
	for _, a := range content.Attributes {
		if len(a.Expr.Variables()) > 0 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "References not allowed in the backend",
				Detail: fmt.Sprintf("The backend is read before any variable or object is evaluated, so %s must be a literal string. "+
					"To connect differently per machine, leave conn_str out and set DATABASE_URL or PGHOST, PGUSER, ... in each environment.", a.Name),
				Subject: a.Expr.Range().Ptr(),
			})
			delete(content.Attributes, a.Name)
		}
	}
	if a, ok := content.Attributes["schema"]; ok {
		ds := gohcl.DecodeExpression(a.Expr, nil, &be.Schema)
		diags = append(diags, ds...)
		be.SchemaRange = a.Expr.Range()
		if !ds.HasErrors() {
			if d := checkBackendSchema(be.Schema, a.Expr.Range()); d != nil {
				diags = append(diags, d)
			}
		}
	}
	if a, ok := content.Attributes["conn_str"]; ok {
		ds := gohcl.DecodeExpression(a.Expr, nil, &be.ConnStr)
		diags = append(diags, ds...)
		if !ds.HasErrors() && connStrHasPassword(be.ConnStr) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Password in conn_str",
				Detail: "The connection string holds a password, which anyone who can read this file (or the repository) can use. " +
					"Remove it from conn_str and give it in PGPASSWORD or a ~/.pgpass file instead.",
				Subject: a.Expr.Range().Ptr(),
			})
		}
	}
	return be, diags
}

func checkBackendSchema(name string, rng hcl.Range) *hcl.Diagnostic {
	why := ""
	switch {
	case !backendSchemaRE.MatchString(name):
		why = "A schema name is 1 to 63 lower-case letters, digits and underscores, starting with a letter or underscore"
	case strings.HasPrefix(name, "pg_"):
		why = "Names starting with pg_ are reserved by PostgreSQL"
	case name == "public" || name == "information_schema":
		why = "The state needs a schema of its own, not one shared with other tables"
	default:
		return nil
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Invalid schema name %q", name),
		Detail:   why + `. Name it after the configuration, e.g. schema = "llmops_support_bot".`,
		Subject:  rng.Ptr(),
	}
}

// connStrHasPassword reports whether a libpq connection string or URL
// holds a password.
func connStrHasPassword(s string) bool {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		u, err := url.Parse(s)
		if err != nil {
			return strings.Contains(s, "password=") || strings.Contains(strings.SplitN(s, "@", 2)[0], ":")
		}
		if _, ok := u.User.Password(); ok {
			return true
		}
		return u.Query().Has("password")
	}
	return regexp.MustCompile(`(^|\s)password\s*=`).MatchString(s)
}

// retitle makes HCL's generic diagnostics about a settings block say
// which block they are about and what it takes (the generic advice, about
// provider schemas, does not apply here).
func retitle(diags hcl.Diagnostics, where, takes string) hcl.Diagnostics {
	for _, d := range diags {
		switch d.Summary {
		case "Unsupported argument", "Unsupported block type", "Missing required argument", "Unexpected block", "Too many blocks":
			d.Summary = d.Summary + " " + where
			d.Detail = strings.TrimSpace(d.Detail + " " + takes)
		}
	}
	return diags
}
