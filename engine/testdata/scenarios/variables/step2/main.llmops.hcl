# Variables from a vars file, with validation.
variable "lr" {
  type = number
  validation {
    condition     = var.lr > 0 && var.lr < 1
    error_message = "lr must be in (0, 1)."
  }
}
variable "tags" {
  type    = map(string)
  default = {}
}
resource "test_value" "a" {
  name  = "a"
  input = { lr = var.lr, tags = var.tags }
}
