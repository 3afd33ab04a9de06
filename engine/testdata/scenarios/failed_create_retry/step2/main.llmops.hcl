# The same configuration again: a is replaced (tainted) and b plans
# against the replacement's unknown output, not the failed object's null.
resource "test_value" "a" {
  name     = "a"
  input    = "weights"
  behavior = "fail-partial-once,output-after-apply"
}
resource "test_value" "b" {
  name     = "b"
  behavior = "needs-input"
  input    = test_value.a.output
}
