resource "null_value" "x" {
  input = "a"
}
