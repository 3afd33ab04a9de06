# input changes, but lifecycle ignores it: nothing to do.
locals {
  ignored = ["input"]
}
resource "test_value" "a" {
  name  = "a"
  input = "y"
  lifecycle {
    ignore_changes = local.ignored
  }
}
