variable "t" {
  default = "1"
}
resource "test_value" "a" {
  name             = "a"
  input            = "x"
  triggers_replace = var.t
}
resource "test_value" "b" {
  name  = "b"
  input = test_value.a.id != ""
}
