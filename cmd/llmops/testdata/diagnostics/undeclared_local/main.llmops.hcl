locals {
  prefix = "ft"
}

resource "null_value" "r" {
  input = local.prefx
}
