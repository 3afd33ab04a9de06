variable "tag" {}

resource "test_value" "x" {
  name  = "x"
  input = var.tag
}
