resource "null_value" "r" {
  input = null_value.r.id
}
