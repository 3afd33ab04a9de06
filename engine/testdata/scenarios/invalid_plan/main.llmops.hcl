# The provider's plan changes a configured value: refused, nothing made.
variable "token" {
  type      = string
  sensitive = true
  default   = "s3cret"
}
resource "test_value" "a" {
  name     = "a"
  input    = "x"
  behavior = "plan-changes-input"
}
resource "test_value" "s" {
  name     = "s"
  input    = var.token
  behavior = "plan-changes-input"
}
