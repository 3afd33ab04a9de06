package traffic

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	all, err := NewRedactor(Detectors, []string{`ACCT-[0-9]{8}`})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, in, want string }{
		{"email", "write to jane.doe+x@mail.example.co.uk today", "write to [REDACTED:email] today"},
		{"two emails", "a@b.io and c_d@e-f.org", "[REDACTED:email] and [REDACTED:email]"},
		{"phone intl", "call +1 (415) 555-0134 now", "call [REDACTED:phone] now"},
		{"phone dotted", "tel 06.12.34.56.78", "tel [REDACTED:phone]"},
		{"date is no phone", "on 2026-11-26 at 10:00", "on 2026-11-26 at 10:00"},
		{"ticket is no phone", "Ticket #42235 [normal]", "Ticket #42235 [normal]"},
		{"openai key", "my key is sk-abcdefghijklmnop1234", "my key is [REDACTED:api_key]"},
		{"aws key", "AKIAABCDEFGHIJKLMNOP leaked", "[REDACTED:api_key] leaked"},
		{"bearer", "Authorization: Bearer abcdefghijklmnopqrstu", "Authorization: [REDACTED:api_key]"},
		{"assignment", "api_key=0123456789abcdef", "[REDACTED:api_key]"},
		{"pattern", "account ACCT-12345678 closed", "account [REDACTED:pattern] closed"},
		{"nothing", "To reset your API key, run ", "To reset your API key, run "},
		{"unicode around", "é x@y.fr ü", "é [REDACTED:email] ü"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := all.Redact(tc.in); got != tc.want {
				t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestRedactorSelection(t *testing.T) {
	emailOnly, err := NewRedactor([]string{"email"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := emailOnly.Redact("a@b.io +1 415 555 0134"); got != "[REDACTED:email] +1 415 555 0134" {
		t.Errorf("email only: %q", got)
	}
	none, _ := NewRedactor(nil, nil)
	if got := none.Redact("a@b.io"); got != "a@b.io" {
		t.Errorf("no detector: %q", got)
	}
	if _, err := NewRedactor([]string{"ssn"}, nil); err == nil || !strings.Contains(err.Error(), "email, phone, api_key") {
		t.Errorf("unknown detector: %v", err)
	}
	for _, p := range []string{`ACCT-[0-9`, `x*`} {
		if _, err := NewRedactor(nil, []string{p}); err == nil {
			t.Errorf("pattern %q accepted", p)
		}
	}
}

func TestRedactRecord(t *testing.T) {
	r, _ := NewRedactor(Detectors, nil)
	rec := Record{Prompt: "p a@b.io", Completion: "c a@b.io", Correction: "x a@b.io", Messages: []Message{{Role: "user", Content: "m a@b.io"}}}
	r.Record(&rec)
	for _, s := range []string{rec.Prompt, rec.Completion, rec.Correction, rec.Messages[0].Content} {
		if strings.Contains(s, "@") {
			t.Errorf("not redacted: %q", s)
		}
	}
}
