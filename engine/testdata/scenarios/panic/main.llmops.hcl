# A panic while planning one object fails that object, not the process.
resource "test_value" "ok" {
  name  = "ok"
  input = "x"
}
resource "test_value" "bad" {
  name     = "bad"
  input    = "x"
  behavior = "panic-plan"
}
