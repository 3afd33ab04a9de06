variable "in" {}

locals {
  twice = "${var.in}${var.in}"
}

resource "test_value" "x" {
  input = local.twice
}

output "x" {
  value = test_value.x.output
}
