resource "test_value" "x" {
  count = 1
  name  = "x"
  input = "same"
}

moved {
  from = test_value.x
  to   = test_value.x[0]
}
