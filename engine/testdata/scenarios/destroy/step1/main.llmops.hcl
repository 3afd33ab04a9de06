resource "test_value" "a" {
  name  = "a"
  input = "x"
}
resource "test_value" "b" {
  name  = "b"
  input = test_value.a.id
}
