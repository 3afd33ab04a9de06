# The update returns a new id although the plan kept it: recorded as the
# provider returned it (never orphaned), reported as the provider's bug.
resource "test_value" "a" {
  name     = "a"
  input    = "y"
  behavior = "update-new-id"
}
