package oci

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmops/llmops/internal/testenv"
	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote/backend"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "oci://registry.example.com/team/llmops", want: "registry.example.com/team/llmops"},
		{in: "oci://127.0.0.1:5000/llmops/", want: "127.0.0.1:5000/llmops"},
		{in: "oci://registry.example.com/team/llmops:v1", err: "not an OCI repository URL"},
		{in: "oci://user:pw@registry.example.com/x", err: "credentials come from the docker config"},
		{in: "oci://registry.example.com", err: "not an OCI repository URL"},
		{in: "s3://b/x", err: "not an OCI URL"},
	} {
		got, err := ParseURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q %v", tc.in, got, err)
		}
	}
}

// A registry that wants credentials: without a docker config entry the
// error says to log in; with one (docker login's config.json) pushes and
// fetches work, and the password appears in no error.
func TestDockerConfigCredentials(t *testing.T) {
	reg := testenv.NeedOCI(t)
	target, _ := url.Parse("http://" + reg.Registry)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "ci" || p != "s3cret-pw" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	u := "oci://" + host + "/llmops-test/auth"

	ctx := context.Background()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	s, err := New(ctx, Options{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	id := artifacts.ID("sha256:" + strings.Repeat("0", 64))
	_, err = s.Stat(ctx, id)
	if backend.ReasonOf(err) != backend.NoCredentials || !strings.Contains(err.Error(), "docker login") || !strings.Contains(err.Error(), u) {
		t.Fatalf("no credentials: %v", err)
	}

	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("ci:s3cret-pw"))
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths": {"`+host+`": {"auth": "`+auth+`"}}}`), 0o600)
	t.Setenv("DOCKER_CONFIG", dir)
	s, err = New(ctx, Options{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("weights behind a login")
	sum := sha256.Sum256(data)
	fid := artifacts.IDFromSum(sum[:])
	p := filepath.Join(t.TempDir(), "w")
	os.WriteFile(p, data, 0o644)
	if err := s.PutBlob(ctx, fid, p, int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, backend.Object{ID: fid, Kind: backend.File, Size: int64(len(data))}, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	obj, err := s.Stat(ctx, fid)
	if err != nil || obj.Kind != backend.File || obj.Size != int64(len(data)) {
		t.Fatalf("stat with credentials: %+v %v", obj, err)
	}
	dst := filepath.Join(t.TempDir(), "got")
	if err := s.GetBlob(ctx, fid, dst, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); string(b) != string(data) {
		t.Fatalf("fetched %q", b)
	}

	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths": {"`+host+`": {"auth": "`+base64.StdEncoding.EncodeToString([]byte("ci:wrong-pw"))+`"}}}`), 0o600)
	s, _ = New(ctx, Options{URL: u})
	_, err = s.Stat(ctx, fid)
	if err == nil || strings.Contains(err.Error(), "wrong-pw") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("wrong password: %v", err)
	}
}

// The manifest is the same bytes whichever machine pushes it.
func TestManifestIsDeterministic(t *testing.T) {
	reg := testenv.NeedOCI(t)
	ctx := context.Background()
	u := "oci://" + reg.Registry + "/llmops-test/det"
	data := []byte("deterministic")
	sum := sha256.Sum256(data)
	id := artifacts.IDFromSum(sum[:])
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, data, 0o644)
	var digests []string
	for i := 0; i < 2; i++ {
		s, _ := New(ctx, Options{URL: u})
		if err := s.PutBlob(ctx, id, p, int64(len(data)), nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(ctx, backend.Object{ID: id, Kind: backend.File, Size: int64(len(data))}, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
		d, err := s.repo.Resolve(ctx, Tag(id))
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d.Digest.String())
	}
	if digests[0] != digests[1] {
		t.Fatalf("two pushes made two manifests: %v", digests)
	}
}

func TestUnreachable(t *testing.T) {
	s, err := New(context.Background(), Options{URL: "oci://127.0.0.1:1/llmops"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Stat(context.Background(), artifacts.ID("sha256:"+strings.Repeat("1", 64)))
	if backend.ReasonOf(err) != backend.Unreachable || !strings.Contains(err.Error(), "oci://127.0.0.1:1/llmops: look up") {
		t.Fatalf("%v", err)
	}
}
