locals {
  name = null_value.b.output
}

resource "null_value" "a" {
  input = local.name
}

resource "null_value" "b" {
  input = null_value.a.output
}
