# The same local in another file.
locals {
  a = 2
}

resource "null_value" "r" {
  input = 1
}

resource "null_value" "r" {
  input = 2
}
