resource "null_value" "r" {
  input = 1
}

resource "null_value" "r" {
  input = 2
}
