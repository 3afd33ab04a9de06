package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func TestSettings(t *testing.T) {
	cases := []struct {
		name string
		src  string
		// want is the backend (type/schema/conn_str) or "" for none.
		want string
		// diags are "severity: summary @line" of each diagnostic.
		diags []string
		// detail must appear in the first diagnostic's detail.
		detail string
	}{
		{name: "none", src: `model "m" { source = "x" }`},
		{name: "empty block", src: "llmops {}\n"},
		{name: "postgres from the environment", src: "llmops {\n  backend \"postgres\" {\n    schema = \"llmops_support_bot\"\n  }\n}\n",
			want: "postgres/llmops_support_bot/"},
		{name: "postgres with conn_str", src: "llmops {\n  backend \"postgres\" {\n    schema   = \"s1\"\n    conn_str = \"host=db.internal user=llmops sslmode=verify-full\"\n  }\n}\n",
			want: "postgres/s1/host=db.internal user=llmops sslmode=verify-full"},
		{name: "password in a URL", src: "llmops {\n  backend \"postgres\" {\n    schema   = \"s1\"\n    conn_str = \"postgres://u:hunter2@db/x\"\n  }\n}\n",
			want: "postgres/s1/postgres://u:hunter2@db/x", diags: []string{"warning: Password in conn_str @4"}, detail: "PGPASSWORD"},
		{name: "password keyword", src: "llmops {\n  backend \"postgres\" {\n    schema   = \"s1\"\n    conn_str = \"host=db password=hunter2\"\n  }\n}\n",
			want: "postgres/s1/host=db password=hunter2", diags: []string{"warning: Password in conn_str @4"}},
		{name: "unknown backend", src: "llmops {\n  backend \"s3\" {\n    bucket = \"x\"\n  }\n}\n",
			diags: []string{`error: Unsupported state backend "s3" @2`}, detail: "Supported backends: postgres"},
		{name: "missing schema", src: "llmops {\n  backend \"postgres\" {\n  }\n}\n",
			want: "postgres//", diags: []string{"error: Missing required argument in the postgres backend @2"}, detail: "schema (required"},
		{name: "bad schema name", src: "llmops {\n  backend \"postgres\" {\n    schema = \"Support-Bot\"\n  }\n}\n",
			want: "postgres/Support-Bot/", diags: []string{`error: Invalid schema name "Support-Bot" @3`}, detail: "lower-case"},
		{name: "reserved schema name", src: "llmops {\n  backend \"postgres\" {\n    schema = \"pg_state\"\n  }\n}\n",
			want: "postgres/pg_state/", diags: []string{`error: Invalid schema name "pg_state" @3`}, detail: "reserved"},
		{name: "unknown argument", src: "llmops {\n  backend \"postgres\" {\n    schema = \"s\"\n    host   = \"db\"\n  }\n}\n",
			want: "postgres/s/", diags: []string{"error: Unsupported argument in the postgres backend @4"}, detail: "conn_str"},
		{name: "variable in conn_str", src: "variable \"c\" {}\nllmops {\n  backend \"postgres\" {\n    schema   = \"s\"\n    conn_str = var.c\n  }\n}\n",
			want: "postgres/s/", diags: []string{"error: References not allowed in the backend @5"}, detail: "DATABASE_URL"},
		{name: "two backends", src: "llmops {\n  backend \"postgres\" {\n    schema = \"a\"\n  }\n  backend \"postgres\" {\n    schema = \"b\"\n  }\n}\n",
			want: "postgres/a/", diags: []string{"error: Duplicate backend block @5"}, detail: "main.llmops.hcl:2"},
		{name: "something else in llmops", src: "llmops {\n  version = \"1\"\n}\n",
			diags: []string{"error: Unsupported argument in the llmops block @2"}, detail: "one backend block"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, diags := LoadSources("/x", map[string][]byte{"main.llmops.hcl": []byte(c.src)})
			checkSettings(t, cfg.Backend(), diags, c.want, c.diags, c.detail)
		})
	}
}

func checkSettings(t *testing.T, be *Backend, diags hcl.Diagnostics, want string, wantDiags []string, detail string) {
	t.Helper()
	got := ""
	if be != nil {
		got = be.Type + "/" + be.Schema + "/" + be.ConnStr
	}
	if got != want {
		t.Errorf("backend %q, want %q", got, want)
	}
	var ds []string
	for _, d := range diags {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		line := 0
		if d.Subject != nil {
			line = d.Subject.Start.Line
		}
		ds = append(ds, sev+": "+d.Summary+" @"+string(rune('0'+line)))
	}
	if strings.Join(ds, "\n") != strings.Join(wantDiags, "\n") {
		t.Errorf("diagnostics:\n got %q\nwant %q", ds, wantDiags)
	}
	if detail != "" && (len(diags) == 0 || !strings.Contains(diags[0].Detail, detail)) {
		t.Errorf("detail %v, want it to say %q", diags, detail)
	}
}

// Two llmops blocks, even in two files, are one too many.
func TestSettingsDuplicateAcrossFiles(t *testing.T) {
	_, diags := LoadSources("/x", map[string][]byte{
		"a.llmops.hcl": []byte("llmops {\n  backend \"postgres\" {\n    schema = \"a\"\n  }\n}\n"),
		"b.llmops.hcl": []byte("\nllmops {}\n"),
	})
	if len(diags) != 1 || diags[0].Summary != "Duplicate llmops block" || diags[0].Subject.Filename != "b.llmops.hcl" ||
		!strings.Contains(diags[0].Detail, "a.llmops.hcl:1:1") {
		t.Fatalf("got %v", diags)
	}
}

// LoadSettings reads the backend even when other blocks have errors, and
// reports the errors of the llmops block itself.
func TestLoadSettings(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, _, diags := LoadSettings(dir)
	if s != nil || diags.HasErrors() {
		t.Fatalf("empty directory: %v %v", s, diags)
	}
	write("a.llmops.hcl", "model \"m\" {\n  source = undefined.thing\n}\nmodel \"m\" {}\n")
	write("b.llmops.hcl", "llmops {\n  backend \"postgres\" {\n    schema = \"team_state\"\n  }\n}\n")
	s, srcs, diags := LoadSettings(dir)
	if diags.HasErrors() || s == nil || s.Backend == nil || s.Backend.Schema != "team_state" || len(srcs) != 2 {
		t.Fatalf("got %+v %v", s, diags)
	}
	if _, diags := LoadDir(dir); !diags.HasErrors() {
		t.Fatal("the full load found no error in the model block")
	}
	write("b.llmops.hcl", "llmops {\n  backend \"mysql\" {}\n}\n")
	if _, _, diags := LoadSettings(dir); !diags.HasErrors() || !strings.Contains(diags.Error(), `Unsupported state backend "mysql"`) {
		t.Fatalf("got %v", diags)
	}
	write("c.llmops.hcl", "llmops {\n")
	if _, _, diags := LoadSettings(dir); !diags.HasErrors() {
		t.Fatal("a syntax error went unreported")
	}
}
