// Package backend is what a remote artifact store implements: blobs named
// by their sha256 (a file's bytes, or a directory's canonical listing),
// and the artifacts among them. Package remote puts the local artifact
// store in front of a Backend as a cache; packages s3 and oci implement it.
//
// Every error a backend returns for a failed operation is an *Error: the
// store's URL, the operation, what went wrong in a few words (a Reason)
// and what to do, never a raw SDK dump and never a credential.
//
// The boundary: the standard library and package artifacts (ids, tree
// listings) only; nothing of S3, OCI, the engine or providers.
package backend
