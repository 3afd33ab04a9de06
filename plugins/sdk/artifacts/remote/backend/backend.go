package backend

import (
	"context"
	"time"

	"github.com/llmops/llmops/plugins/sdk/artifacts"
)

// Kind says what an artifact is.
type Kind string

// The kinds of artifacts.
const (
	// File: the artifact is one blob, the file's bytes.
	File Kind = "file"
	// Tree: the artifact's blob is its canonical listing (see package
	// artifacts), whose files are blobs of their own.
	Tree Kind = "tree"
)

// Object is an artifact (or, in List, a blob) of a remote store.
type Object struct {
	ID   artifacts.ID
	Kind Kind
	// Size is the blob's size: the file's bytes, or the tree's listing.
	Size int64
	// Modified is when the store received it (zero when it does not say).
	Modified time.Time
}

// Counter counts the bytes of a transfer as they move, for progress.
type Counter interface {
	Add(n int64)
}

// Discard is a Counter that counts nothing.
type Discard struct{}

// Add does nothing.
func (Discard) Add(int64) {}

// Backend is one remote artifact store. Blobs are content-addressed: a
// blob's name is the sha256 of its bytes, so storing one twice stores it
// once, and two machines pushing the same blob at once end with one.
// Implementations are safe for concurrent use.
type Backend interface {
	// URL names the store in messages; it holds no credentials.
	URL() string
	// Stat describes the artifact id, or returns an *Error whose Reason is
	// NotFound when the store does not hold it (complete: a tree only once
	// all its files are stored).
	Stat(ctx context.Context, id artifacts.ID) (Object, error)
	// HasBlob reports whether the blob id is stored.
	HasBlob(ctx context.Context, id artifacts.ID) (bool, error)
	// BlobSize returns the size of the blob id, or an *Error whose Reason
	// is NotFound.
	BlobSize(ctx context.Context, id artifacts.ID) (int64, error)
	// PutBlob uploads the file at path (size bytes), whose sha256 must be
	// id: an upload whose bytes hash otherwise is abandoned and never
	// becomes visible under id. Memory use does not grow with size.
	PutBlob(ctx context.Context, id artifacts.ID, path string, size int64, c Counter) error
	// GetBlob downloads the blob id into a new file at dst, hashing it
	// while it is written: bytes that do not hash to id (a corrupt or
	// truncated blob) give an *Error whose Reason is Corrupt, and dst is
	// removed.
	GetBlob(ctx context.Context, id artifacts.ID, dst string, c Counter) error
	// Commit records an artifact whose blobs are stored: a file (its blob,
	// obj.ID) or a tree (Commit stores the listing, whose sha256 is
	// obj.ID; files are the tree's files, with their sizes in sizes).
	// After Commit, Stat finds it.
	Commit(ctx context.Context, obj Object, listing []byte, files []artifacts.TreeFile, sizes map[artifacts.ID]int64) error
	// Listing returns the listing of the tree artifact obj, unverified.
	Listing(ctx context.Context, obj Object) ([]byte, error)
	// List calls fn for every artifact, and for a store whose blobs are
	// objects of their own (S3), for every blob: what garbage collection
	// may remove.
	List(ctx context.Context, fn func(Object) error) error
	// Delete removes what List returned.
	Delete(ctx context.Context, obj Object) error
}
