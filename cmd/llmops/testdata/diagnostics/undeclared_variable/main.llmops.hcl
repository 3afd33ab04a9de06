resource "null_value" "r" {
  input = var.learning_rate
}
