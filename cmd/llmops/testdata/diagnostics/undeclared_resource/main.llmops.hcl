resource "null_value" "r" {
  input = null_value.missing.output
}
