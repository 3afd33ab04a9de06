resource "test_value" "x" {
  for_each = toset(["a"])
  name     = "x"
  input    = "same"
}

moved {
  from = test_value.x
  to   = test_value.x[0]
}

moved {
  from = test_value.x[0]
  to   = test_value.x["a"]
}
