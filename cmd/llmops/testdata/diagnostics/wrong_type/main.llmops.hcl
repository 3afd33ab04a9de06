resource "null_value" "r" {
  count = "three"
  input = count.index
}
