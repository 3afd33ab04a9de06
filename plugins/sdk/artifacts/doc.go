// Package artifacts is the content-addressed artifact store of
// docs/architecture.md, section 4.2, shared by every provider: model
// weights, dataset versions and their splits, run outputs, logs, indexes.
// An artifact is a file or a directory tree, named by its digest, and
// never changes once stored.
//
// Ids are "sha256:<64 lower-case hex>". A file's id is the sha256 of its
// bytes (what `sha256sum` prints). A directory's id is the sha256 of a
// canonical listing of its regular files:
//
//	llmops-tree-v1\n
//	<mode> <sha256 hex> <quoted slash-separated relative path>\n   (sorted by path)
//
// where mode is 644, or 755 when any execute bit is set (so the digest does
// not depend on the umask), and the path is quoted as Go's strconv.Quote
// does. Directories themselves (and empty ones) are not recorded; symbolic
// links are followed (their targets' contents count, which also makes a
// Hugging Face cache snapshot, whose files are links to blobs, hash like a
// plain copy); special files are refused.
//
// Layout of a store directory:
//
//	objects/sha256/<hex>      the artifact: a read-only file, or a directory
//	tmp/                      staging: Put builds an object here, then renames it in
//	cache/digests.v1          the digest cache (below)
//	runs/                     not managed here: providers keep job directories,
//	                          and serving providers list gateways in runs/gateways
//
// The digest cache maps a file (path, device, inode, size, mtime and ctime
// in nanoseconds) to its sha256, so re-hashing an unchanged tree stats its
// files and reads none of their contents. It is persisted in the store and
// shared by every process using it. Files changed less than a second before
// they were hashed are not cached (their timestamps could fail to show a
// second change within the same clock tick).
//
// Hashing reads with 1 MiB buffers and hashes the files of a tree in
// parallel, one worker per CPU.
//
// Put brings a path in by copy (the default), by hard links (Link, for a
// model hub's immutable blobs), by renaming (Move, for outputs the caller
// owns) or without a second copy (Import: a reflink, else a read-only
// hard link, else copy_file_range, else a copy).
//
// A store can be the cache of a remote store (SetRemote with a Remote,
// which package remote provides for s3://, oci:// and shared
// directories): Put then pushes what it stores, Ensure and Resolve fetch
// what the local store lacks, Exists asks the remote store without
// fetching, and a Remote commits what it downloaded and verified with
// NewStage and CommitStaged. Has, Path, List and Stat stay local.
// Listing gives a stored directory's canonical listing (its sha256 is the
// directory's id), and ParseListing reads one back, refusing paths that
// leave the tree.
//
// The store never removes an artifact by itself: Remove exists for the
// engine's garbage collection, which knows which artifacts state versions
// still reference.
//
// The boundary: this package depends on the standard library only. It
// knows nothing of models, datasets, state or remote protocols; providers
// and the engine use it through Open (or remote.OpenStore).
package artifacts
