// Package oci is the oci:// remote artifact store (see package remote): a
// repository of any OCI registry, through oras-go. An artifact is a
// manifest of artifactType application/vnd.llmops.artifact.v1, tagged
// sha256-<hex> (a tag cannot hold a colon) and annotated with the digest
// (dev.llmops.artifact.digest) and kind (dev.llmops.artifact.kind); its
// layers are the file's blob, or the directory's listing and then its
// files' blobs, titled with their paths. Blobs are the registry's own
// content-addressed blobs, so a file shared by two model versions is
// stored once. Credentials come from the docker config (docker login,
// oras login, credential helpers); a loopback registry is spoken to over
// plain HTTP, any other over HTTPS.
//
// The boundary: package backend's interface over oras-go, nothing else.
package oci
