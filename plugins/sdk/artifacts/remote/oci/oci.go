package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/errcode"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
	"github.com/llmops/llmops/plugins/sdk/artifacts/remote/backend"
)

// The media types and annotations of llmops artifacts in a registry.
const (
	ArtifactType   = "application/vnd.llmops.artifact.v1"
	FileMediaType  = "application/vnd.llmops.file.v1"
	TreeMediaType  = "application/vnd.llmops.tree.v1"
	AnnotationID   = "dev.llmops.artifact.digest"
	AnnotationKind = "dev.llmops.artifact.kind"
	// created is fixed, so that two machines pushing one artifact make the
	// same manifest, byte for byte: one object under one tag.
	created = "1970-01-01T00:00:00Z"
)

// Options configure a store.
type Options struct {
	// URL is oci://REGISTRY[:PORT]/REPOSITORY.
	URL string
	// PlainHTTP talks HTTP instead of HTTPS; it is always used for a
	// loopback registry (127.0.0.1, ::1, localhost).
	PlainHTTP bool
	// Client, when set, replaces the authenticating client (tests).
	Client remote.Client
}

// Store is a repository of an OCI registry holding artifacts: each one a
// manifest of artifactType application/vnd.llmops.artifact.v1 tagged
// sha256-<hex>, with the artifact's digest and kind as annotations; its
// layers are the file (a file artifact) or the listing and then the
// files (a directory).
type Store struct {
	repo *remote.Repository
	url  string
}

// ParseURL checks oci://REGISTRY/REPOSITORY and returns REGISTRY/REPOSITORY.
func ParseURL(raw string) (string, error) {
	rest, ok := strings.CutPrefix(raw, "oci://")
	if !ok {
		return "", fmt.Errorf("%q is not an OCI URL: want oci://REGISTRY/REPOSITORY", raw)
	}
	rest = strings.TrimSuffix(rest, "/")
	if strings.ContainsAny(rest, "@?#") {
		return "", fmt.Errorf("%q: an OCI store URL names a repository, with no tag, digest, user or query (credentials come from the docker config)", raw)
	}
	ref, err := registry.ParseReference(rest)
	if err != nil || ref.Reference != "" || ref.Repository == "" {
		return "", fmt.Errorf("%q is not an OCI repository URL: want oci://REGISTRY/REPOSITORY (e.g. oci://registry.example.com/team/llmops)", raw)
	}
	return rest, nil
}

// New opens the store; credentials come from the docker config
// (DOCKER_CONFIG or ~/.docker/config.json, and its credential helpers).
// Nothing is contacted yet.
func New(_ context.Context, o Options) (*Store, error) {
	name, err := ParseURL(o.URL)
	if err != nil {
		return nil, err
	}
	repo, err := remote.NewRepository(name)
	if err != nil {
		return nil, err
	}
	repo.PlainHTTP = o.PlainHTTP || isLoopback(repo.Reference.Registry)
	if o.Client != nil {
		repo.Client = o.Client
	} else {
		client := &auth.Client{Client: retry.DefaultClient, Cache: auth.NewCache(), Header: http.Header{"User-Agent": {"llmops"}}}
		if cs, err := credentials.NewStoreFromDocker(credentials.StoreOptions{}); err == nil {
			client.Credential = credentials.Credential(cs)
		}
		repo.Client = client
	}
	return &Store{repo: repo, url: "oci://" + name}, nil
}

func isLoopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// URL returns oci://REGISTRY/REPOSITORY.
func (s *Store) URL() string { return s.url }

// Tag is the tag of the artifact id.
func Tag(id artifacts.ID) string { return "sha256-" + id.Hex() }

func blobDesc(id artifacts.ID, size int64, mediaType string) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mediaType, Digest: digest.Digest(id), Size: size}
}

// manifest fetches the artifact's manifest.
func (s *Store) manifest(ctx context.Context, id artifacts.ID) (ocispec.Descriptor, *ocispec.Manifest, error) {
	desc, rc, err := s.repo.Manifests().FetchReference(ctx, Tag(id))
	if err != nil {
		return desc, nil, err
	}
	defer rc.Close()
	var m ocispec.Manifest
	if err := json.NewDecoder(io.LimitReader(rc, 16<<20)).Decode(&m); err != nil {
		return desc, nil, err
	}
	if m.ArtifactType != ArtifactType || len(m.Layers) == 0 || m.Annotations[AnnotationID] != string(id) {
		return desc, nil, fmt.Errorf("tag %s is not an llmops artifact", Tag(id))
	}
	return desc, &m, nil
}

// Stat describes the artifact id from its manifest.
func (s *Store) Stat(ctx context.Context, id artifacts.ID) (backend.Object, error) {
	_, m, err := s.manifest(ctx, id)
	if err != nil {
		return backend.Object{}, s.fail("look up "+string(id), err)
	}
	obj := backend.Object{ID: id, Kind: backend.File, Size: m.Layers[0].Size}
	if m.Annotations[AnnotationKind] == string(backend.Tree) {
		obj.Kind = backend.Tree
	}
	return obj, nil
}

// HasBlob reports whether the repository has the blob id.
func (s *Store) HasBlob(ctx context.Context, id artifacts.ID) (bool, error) {
	_, err := s.repo.Blobs().Resolve(ctx, string(id))
	if errors.Is(err, errdef.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, s.fail("look up "+string(id), err)
	}
	return true, nil
}

// BlobSize returns the size of the blob id.
func (s *Store) BlobSize(ctx context.Context, id artifacts.ID) (int64, error) {
	d, err := s.repo.Blobs().Resolve(ctx, string(id))
	if err != nil {
		return 0, s.fail("look up "+string(id), err)
	}
	return d.Size, nil
}

// PutBlob uploads the file (one streamed request; the registry checks the
// digest before it accepts the blob, and so do we, hashing as we send).
func (s *Store) PutBlob(ctx context.Context, id artifacts.ID, path string, size int64, c backend.Counter) error {
	op := "push " + string(id)
	if ok, err := s.HasBlob(ctx, id); err != nil || ok {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if c == nil {
		c = backend.Discard{}
	}
	h := sha256.New()
	body := io.TeeReader(io.LimitReader(f, size), io.MultiWriter(h, counterWriter{c}))
	if err := s.repo.Blobs().Push(ctx, blobDesc(id, size, FileMediaType), body); err != nil {
		if got := artifacts.IDFromSum(h.Sum(nil)); got != id {
			return &backend.Error{URL: s.url, Op: op, Reason: backend.Corrupt, Detail: "the local copy hashes to " + string(got),
				Hint: "Nothing was published under the digest. The local artifact changed since it was stored: llmops artifacts verify " + string(id)}
		}
		if errors.Is(err, errdef.ErrAlreadyExists) || s.pushedMeanwhile(ctx, id) {
			return nil
		}
		return s.fail(op, err)
	}
	return nil
}

// pushBytes pushes a small blob, tolerating a concurrent push of the same
// digest as PutBlob does.
func (s *Store) pushBytes(ctx context.Context, desc ocispec.Descriptor, data []byte) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
			}
		}
		err = s.repo.Blobs().Push(ctx, desc, bytes.NewReader(data))
		if err == nil || errors.Is(err, errdef.ErrAlreadyExists) {
			return nil
		}
		if ok, herr := s.repo.Blobs().Exists(ctx, desc); herr == nil && ok {
			return nil // pushed meanwhile by a concurrent client
		}
		if !isCode(err, "DIGEST_INVALID", "SIZE_INVALID") {
			return err
		}
	}
	return err
}

// pushedMeanwhile says whether a blob whose push failed is in the registry
// after all: another machine pushing the same digest at the same time can
// make the registry refuse one of the two uploads (distribution answers
// DIGEST_INVALID to the loser of the race), and the blob it holds is the
// one we were sending, since its name is its digest.
func (s *Store) pushedMeanwhile(ctx context.Context, id artifacts.ID) bool {
	ok, err := s.HasBlob(ctx, id)
	return err == nil && ok
}

// GetBlob downloads the blob id into dst, hashing it as it is written.
func (s *Store) GetBlob(ctx context.Context, id artifacts.ID, dst string, c backend.Counter) (err error) {
	op := "fetch " + string(id)
	desc, rc, err := s.repo.Blobs().FetchReference(ctx, string(id))
	if err != nil {
		return s.fail(op, err)
	}
	defer rc.Close()
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(dst)
		}
	}()
	if c == nil {
		c = backend.Discard{}
	}
	h := sha256.New()
	buf := make([]byte, 1<<20)
	n, err := io.CopyBuffer(io.MultiWriter(f, h, counterWriter{c}), onlyReader{rc}, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return s.fail(op, err)
	}
	if n != desc.Size {
		return &backend.Error{URL: s.url, Op: op, Reason: backend.Corrupt, Detail: fmt.Sprintf("truncated: %d of %d bytes", n, desc.Size)}
	}
	if got := artifacts.IDFromSum(h.Sum(nil)); got != id {
		return &backend.Error{URL: s.url, Op: op, Reason: backend.Corrupt, Detail: "its bytes hash to " + string(got)}
	}
	return nil
}

// Commit pushes the artifact's manifest (for a tree, after its listing)
// under its tag.
func (s *Store) Commit(ctx context.Context, obj backend.Object, listing []byte, files []artifacts.TreeFile, sizes map[artifacts.ID]int64) error {
	op := "push " + string(obj.ID)
	var layers []ocispec.Descriptor
	if obj.Kind == backend.Tree {
		ld := blobDesc(obj.ID, int64(len(listing)), TreeMediaType)
		if ok, err := s.HasBlob(ctx, obj.ID); err != nil {
			return err
		} else if !ok {
			if err := s.pushBytes(ctx, ld, listing); err != nil {
				return s.fail(op, err)
			}
		}
		layers = append(layers, ld)
		seen := map[artifacts.ID]bool{}
		for _, f := range files {
			if seen[f.ID] {
				continue
			}
			seen[f.ID] = true
			d := blobDesc(f.ID, sizes[f.ID], FileMediaType)
			d.Annotations = map[string]string{ocispec.AnnotationTitle: f.Path}
			layers = append(layers, d)
		}
	} else {
		layers = append(layers, blobDesc(obj.ID, obj.Size, FileMediaType))
	}
	if err := s.pushEmptyConfig(ctx); err != nil {
		return s.fail(op, err)
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, ArtifactType: ArtifactType,
		Config: ocispec.DescriptorEmptyJSON, Layers: layers,
		Annotations: map[string]string{AnnotationID: string(obj.ID), AnnotationKind: string(obj.Kind), ocispec.AnnotationCreated: created},
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(b), Size: int64(len(b)), ArtifactType: ArtifactType}
	// A concurrent push of the same artifact by another machine can make
	// the registry briefly lose sight of a blob the manifest names (it
	// answers MANIFEST_BLOB_UNKNOWN with DIGEST_INVALID while the other
	// upload of that blob commits): the manifest is tried again, at most
	// three times in all, after the blobs are checked again.
	for attempt := 0; ; attempt++ {
		err = s.repo.Manifests().PushReference(ctx, desc, bytes.NewReader(b), Tag(obj.ID))
		if err == nil {
			return nil
		}
		if attempt == 2 || !isCode(err, "MANIFEST_BLOB_UNKNOWN", "DIGEST_INVALID", "BLOB_UNKNOWN") {
			return s.fail(op, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
		}
		if err := s.pushEmptyConfig(ctx); err != nil {
			return s.fail(op, err)
		}
	}
}

func (s *Store) pushEmptyConfig(ctx context.Context) error {
	ok, err := s.repo.Blobs().Exists(ctx, ocispec.DescriptorEmptyJSON)
	if err != nil || ok {
		return err
	}
	return s.pushBytes(ctx, ocispec.DescriptorEmptyJSON, ocispec.DescriptorEmptyJSON.Data)
}

// Listing reads a tree's listing (its manifest's first layer).
func (s *Store) Listing(ctx context.Context, obj backend.Object) ([]byte, error) {
	op := "fetch " + string(obj.ID)
	_, m, err := s.manifest(ctx, obj.ID)
	if err != nil {
		return nil, s.fail(op, err)
	}
	rc, err := s.repo.Blobs().Fetch(ctx, m.Layers[0])
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 256<<20))
	if err != nil {
		return nil, s.fail(op, err)
	}
	return b, nil
}

// List calls fn for every artifact (every sha256-<hex> tag).
func (s *Store) List(ctx context.Context, fn func(backend.Object) error) error {
	err := s.repo.Tags(ctx, "", func(tags []string) error {
		for _, t := range tags {
			hex, ok := strings.CutPrefix(t, "sha256-")
			if !ok {
				continue
			}
			id, err := artifacts.ParseID(artifacts.Prefix + hex)
			if err != nil {
				continue
			}
			if err := fn(backend.Object{ID: id}); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errdef.ErrNotFound) || isCode(err, "NAME_UNKNOWN") {
		return nil // no repository yet: nothing pushed
	}
	if err != nil {
		var be *backend.Error
		if errors.As(err, &be) {
			return be
		}
		return s.fail("list", err)
	}
	return nil
}

// Delete deletes the artifact's manifest (and so its tag); the registry's
// own garbage collection frees the blobs no manifest references.
func (s *Store) Delete(ctx context.Context, obj backend.Object) error {
	op := "delete " + string(obj.ID)
	desc, err := s.repo.Resolve(ctx, Tag(obj.ID))
	if err != nil {
		return s.fail(op, err)
	}
	if err := s.repo.Delete(ctx, desc); err != nil {
		return s.fail(op, err)
	}
	return nil
}

// fail turns an oras error into a *backend.Error.
func (s *Store) fail(op string, err error) error {
	e := &backend.Error{URL: s.url, Op: op, Reason: backend.Failed, Err: err}
	var be *backend.Error
	var er *errcode.ErrorResponse
	var ne net.Error
	switch {
	case errors.As(err, &be):
		return be
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		e.Reason = backend.Canceled
	case errors.Is(err, errdef.ErrNotFound):
		e.Reason = backend.NotFound
	case errors.Is(err, auth.ErrBasicCredentialNotFound) || strings.Contains(err.Error(), "missing username or password"):
		e.Reason = backend.NoCredentials
		e.Detail = "the registry wants credentials and the docker config has none for it"
		e.Hint = "Log in: docker login (or oras login) " + s.repo.Reference.Registry
	case errors.As(err, &er):
		e.Detail = fmt.Sprintf("HTTP %d", er.StatusCode)
		if len(er.Errors) > 0 {
			e.Detail = fmt.Sprintf("%s, HTTP %d", er.Errors[0].Code, er.StatusCode)
		}
		switch {
		case er.StatusCode == http.StatusUnauthorized:
			e.Reason = backend.NoCredentials
			e.Hint = "The registry wants credentials: docker login (or oras login) " + s.repo.Reference.Registry
		case er.StatusCode == http.StatusForbidden || isCode(err, "DENIED"):
			e.Reason = backend.Denied
		case isCode(err, "NAME_UNKNOWN", "MANIFEST_UNKNOWN", "BLOB_UNKNOWN") || er.StatusCode == http.StatusNotFound:
			e.Reason = backend.NotFound
		case isCode(err, "DIGEST_INVALID", "SIZE_INVALID"):
			e.Reason = backend.Corrupt
		case er.StatusCode == http.StatusMethodNotAllowed || isCode(err, "UNSUPPORTED"):
			e.Hint = "The registry refuses the operation: deleting needs storage.delete.enabled in the registry's configuration"
		}
	case errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused"):
		e.Reason = backend.Unreachable
		e.Detail = "cannot connect"
		if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
			e.Detail = "the registry speaks plain HTTP"
		}
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		e.Reason = backend.Unreachable
		e.Detail = "the registry speaks plain HTTP, which llmops uses only for a loopback registry"
	}
	return e
}

func isCode(err error, codes ...string) bool {
	var er *errcode.ErrorResponse
	if !errors.As(err, &er) {
		return false
	}
	for _, e := range er.Errors {
		for _, c := range codes {
			if e.Code == c {
				return true
			}
		}
	}
	return false
}

type counterWriter struct{ c backend.Counter }

func (w counterWriter) Write(p []byte) (int, error) {
	w.c.Add(int64(len(p)))
	return len(p), nil
}

// onlyReader hides WriterTo so that io.CopyBuffer uses the buffer given.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }
