variable "replicas" {
  type    = number
  default = 1
}

resource "test_value" "endpoint" {
  count = var.replicas
  name  = "${llmops.workspace}-${count.index}"
  input = "https://${llmops.workspace}.example/${count.index}"
}

output "endpoints" {
  value = test_value.endpoint[*].output
}
