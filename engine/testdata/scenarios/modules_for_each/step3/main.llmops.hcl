resource "test_value" "base" {
  name  = "base"
  input = "base-model"
}
