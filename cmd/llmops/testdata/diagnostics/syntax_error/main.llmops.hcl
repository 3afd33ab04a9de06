resource "null_value" "r" {
  input = {
    name = "x"
}
