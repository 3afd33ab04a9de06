# A sensitive value cannot be stored without the state key.
variable "token" {
  type      = string
  sensitive = true
  default   = "s3cret"
}
resource "test_value" "a" {
  secret = var.token
}
