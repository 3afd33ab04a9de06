// Package s3 is the s3:// remote artifact store (see package remote): a
// bucket of AWS S3 or of any S3-compatible server (MinIO, Ceph, ...),
// through aws-sdk-go-v2 and the standard credential chain (environment,
// shared config and credentials files and their profiles, web identity,
// instance roles). AWS_ENDPOINT_URL, or the artifacts block's endpoint,
// points it at an S3-compatible server; path_style addresses the bucket in
// the path.
//
// Layout: every blob is one object, PREFIX/sha256/<hex>, whose key is the
// sha256 of its bytes: a file artifact, a file of a directory artifact, or
// a directory's canonical listing, which carries the metadata
// llmops-kind: tree. The listing is stored last, so a directory is visible
// only once complete.
//
// Transfers: uploads above 64 MiB are multipart (parts of 16 MiB, grown
// to keep under 10,000 parts), with parts read in parallel straight from
// the file (memory does not grow with the size) while the file is hashed
// in order; the upload is completed only if the hash is the blob's name,
// and one killed half-way is resumed by the next push (parts of the same
// size and MD5 are kept). Downloads are parallel ranged GETs written in
// place and hashed in order as they land.
//
// The boundary: package backend's interface over aws-sdk-go-v2, nothing
// else.
package s3
