resource "null_valu" "r" {
  input = 1
}
