resource "test_value" "b" {
  name  = "b"
  input = 2
}

moved {
  from = test_value.a
  to   = test_value.b
}
