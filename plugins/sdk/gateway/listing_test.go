package gateway

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestListing(t *testing.T) {
	root := t.TempDir()
	l := Listing{Deployment: "dep-0123456789abcdef", Provider: "slurm", Endpoint: "http://127.0.0.1:4000/v1", Revision: 2}
	if err := Publish(root, l); err != nil {
		t.Fatal(err)
	}
	got, err := Lookup(root, l.Deployment)
	if err != nil || got.Endpoint != l.Endpoint || got.Revision != 2 || got.Provider != "slurm" || got.UpdatedAt.IsZero() || got.Base() != "http://127.0.0.1:4000" {
		t.Fatalf("Lookup: %+v %v", got, err)
	}
	l.Revision = 3
	if err := Publish(root, l); err != nil {
		t.Fatal(err)
	}
	if got, _ := Lookup(root, l.Deployment); got == nil || got.Revision != 3 {
		t.Fatalf("republished: %+v", got)
	}
	if left, _ := filepath.Glob(filepath.Join(root, ListingDir, ".listing-*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	if err := Withdraw(root, l.Deployment); err != nil {
		t.Fatal(err)
	}
	if err := Withdraw(root, l.Deployment); err != nil {
		t.Fatalf("withdrawing twice: %v", err)
	}
	if _, err := Lookup(root, l.Deployment); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Lookup after Withdraw: %v", err)
	}
	for _, bad := range []string{"", "../x", "a/b", ".hidden", "dep 1", string(make([]byte, 200))} {
		if err := Publish(root, Listing{Deployment: bad, Endpoint: "http://x/v1"}); err == nil {
			t.Errorf("Publish(%q) accepted", bad)
		}
		if _, err := Lookup(root, bad); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Lookup(%q): %v, want not found", bad, err)
		}
	}
	// A listing whose content names another deployment is refused.
	if err := os.WriteFile(filepath.Join(root, ListingDir, "dep-1.json"), []byte(`{"deployment":"dep-2","endpoint":"http://x/v1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Lookup(root, "dep-1"); err == nil {
		t.Fatal("a listing of another deployment was accepted")
	}
}

func TestEndpointURL(t *testing.T) {
	for _, c := range []struct {
		host string
		want string
	}{
		{"127.0.0.1", "http://127.0.0.1:8000/v1"},
		{"0.0.0.0", "http://127.0.0.1:8000/v1"},
		{"::", "http://127.0.0.1:8000/v1"},
		{"::1", "http://[::1]:8000/v1"},
		{"10.1.2.3", "http://10.1.2.3:8000/v1"},
	} {
		if got := EndpointURL(c.host, 8000); got != c.want {
			t.Errorf("EndpointURL(%q) = %q, want %q", c.host, got, c.want)
		}
	}
}
