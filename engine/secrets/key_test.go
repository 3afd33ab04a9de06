package secrets

import (
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	text, _ := Generate()
	k, err := ParseKey(text)
	if err != nil {
		t.Fatal(err)
	}
	s, err := k.Seal([]byte("hunter2"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s, "hunter2") || !IsSealed(s) || SealedKeyID(s) != k.ID() {
		t.Fatalf("sealed text %q", s)
	}
	got, err := k.Open(s)
	if err != nil || string(got) != "hunter2" {
		t.Fatalf("open: %q %v", got, err)
	}
	other, _ := Generate()
	k2, _ := ParseKey(other)
	if _, err := k2.Open(s); err == nil || !strings.Contains(err.Error(), "sealed with key") {
		t.Fatalf("wrong key: %v", err)
	}
	// Tampering is detected.
	bad := s[:len(s)-4] + "AAAA"
	if _, err := k.Open(bad); err == nil {
		t.Fatal("tampered text opened")
	}
	if _, err := ParseKey("c2hvcnQ="); err == nil {
		t.Fatal("a short key was accepted")
	}
}
