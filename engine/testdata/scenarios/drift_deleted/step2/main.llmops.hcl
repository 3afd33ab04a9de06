resource "test_value" "a" {
  name  = "a"
  input = "x"
}
