resource "null_value" "a" {
  input = 1
}

resource "null_value" "b" {
  input      = 2
  depends_on = ["null_value.a"]
}
