variable "value" {}

resource "test_value" "x" {
  name  = "x"
  input = var.value
}

resource "test_value" "y" {
  name  = "y"
  input = "y${var.value}"
}
