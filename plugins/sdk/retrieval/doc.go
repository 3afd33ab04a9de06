// Package retrieval is the retrieval step of retrieval-augmented serving
// (a deployment's `retrieval` block), run by the gateway: it loads an
// embedding index (the SQLite file an `embedding_index` stores, format
// IndexFormat), embeds a question with the command and model that built
// the index (recorded in the index's meta table), finds the top_k chunks
// by cosine similarity and fills the prompt template's {{context}} and
// {{question}} placeholders.
//
// The index's meta table, beside format, dimensions and chunks:
//
//	embed_command     the embedding command's argv, JSON ("" when it held a secret)
//	embed_model_path  the embedding model's path, relative to the artifact store's root ("" for none)
//
// The boundary: the package knows the index file and the embedding
// command's contract (docs/job-contract.md); it knows nothing of HTTP,
// the gateway's routes or of providers, which configure it (Config).
package retrieval
