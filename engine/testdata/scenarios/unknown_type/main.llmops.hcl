resource "test_valu" "a" {
  input = "x"
}
