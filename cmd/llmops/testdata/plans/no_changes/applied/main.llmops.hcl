resource "null_value" "a" {
  input = "a"
}
