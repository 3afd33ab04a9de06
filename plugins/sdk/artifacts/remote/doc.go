// Package remote makes the local artifact store (package artifacts) a
// cache in front of a remote store that a team, CI runners and remote
// compute share: s3://BUCKET/PREFIX (package s3: AWS or any S3-compatible
// server) or oci://REGISTRY/REPOSITORY (package oci: any OCI registry).
//
// What the cache does (Cache implements artifacts.Remote):
//
//   - Push: what the local store holds is uploaded once (a look-up, not an
//     upload, when the remote store has it). A file is one blob; a
//     directory is its files' blobs, then its canonical listing, whose
//     sha256 is the directory's id, so a tree becomes visible only once
//     complete, and files shared by two versions of a model are stored
//     once.
//   - Fetch: an artifact the local store lacks is downloaded by its id into
//     the store's staging area, every blob hashed while it is written; a
//     corrupt or truncated blob is refused and fetched once more, then
//     reported. Once cached, an artifact is used offline and trusted as
//     the local store is (llmops artifacts verify re-hashes on demand).
//   - Progress: long transfers report bytes, rate and ETA (Options.Progress).
//   - Collect: garbage collection of the remote store, keeping what the
//     given ids reference (the files of kept trees).
//
// Config is the artifacts block's remote part (url, endpoint, path_style,
// region, profile); credentials never appear in it: they come from the
// standard places (the AWS credential chain, the docker config). The job
// contract passes it to remote compute as LLMOPS_ARTIFACTS_URL and
// friends (ConfigFromEnv, Config.Env), and Fetch and Push are what a job
// runner in a pod or a cloud job uses.
//
// The boundary: this package and its backends depend on the artifact
// store, the job contract's names, aws-sdk-go-v2 and oras-go; nothing of
// the engine, state or a provider, so providers import it freely.
package remote
