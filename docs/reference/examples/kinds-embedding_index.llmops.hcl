embedding_index "docs" {
  dataset       = dataset.docs.id
  model         = model.embedder.id
  command       = ["python3", "embed.py"] # chunks on stdin, vectors on stdout
  chunk_size    = 800
  chunk_overlap = 80
  text_field    = "body"
}
