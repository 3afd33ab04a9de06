resource "null_value" "r" {
  input = [1, 2
}
