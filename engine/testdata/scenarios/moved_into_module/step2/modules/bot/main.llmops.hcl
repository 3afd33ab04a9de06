variable "base" {}

resource "test_value" "ft" {
  name  = "ft"
  input = var.base
}

output "model" {
  value = test_value.ft.output
}
