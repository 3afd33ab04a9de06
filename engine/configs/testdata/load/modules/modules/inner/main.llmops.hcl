variable "name" {}

resource "null_value" "v" {
  input = var.name
}
