# a's create fails after making the object (recorded tainted, with no
# output); b, which needs a's output, is skipped.
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
