variable "from" {}

resource "test_value" "serve" {
  count = 1
  name  = "serve-${var.from}"
  input = "https://${var.from}"
}

output "url" {
  value = test_value.serve[0].output
}
