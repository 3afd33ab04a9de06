resource "test_value" "a" {
  name  = "a"
  input = 1
}

resource "test_value" "b" {
  name  = "b"
  input = 2
}
