resource "null_value" "r" {
  count    = 2
  for_each = toset(["a"])
  input    = 1
}
