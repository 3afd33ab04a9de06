resource "test_value" "x" {
  name  = "x"
  input = "same"
}
