variable "index" {
  type = number
}

resource "test_value" "v" {
  name  = "v${var.index}"
  input = var.index * 10
}

output "value" {
  value = test_value.v.output
}
