# A model already in the local Hugging Face cache, pinned to its digest
# without being imported into the artifact store.
data "model" "base" {
  source   = "hf://Qwen/Qwen2.5-0.5B"
  revision = "main"
}

output "base_digest" {
  value = data.model.base.digest
}
