resource "test_value" "base" {
  name  = "base"
  input = "weights"
}

resource "test_value" "ft" {
  name  = "ft"
  input = test_value.base.output
}

resource "test_value" "serve" {
  name  = "serve"
  input = test_value.ft.output
}
