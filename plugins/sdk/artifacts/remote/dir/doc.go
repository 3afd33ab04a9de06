// Package dir is the remote artifact store that is a directory, on a
// filesystem several machines mount (NFS, a cluster's shared disk): the
// artifacts block's url when it is a path. Layout:
//
//	blobs/sha256/<hex>   every blob (a file artifact, a file of a tree), read-only
//	trees/sha256/<hex>   the listing of each directory artifact (written last)
//	tmp/                 uploads in progress, renamed into place when verified
//
// The boundary: package backend's interface over the standard library.
package dir
