output "model_id" {
  description = "The id of the fine-tuned model."
}
