# -var epochs=two and epochs = "two" in a vars file get the same error.
variable "epochs" {
  type = number
}

variable "tags" {
  type    = list(string)
  default = []
}

resource "null_value" "r" {
  input = { epochs = var.epochs, tags = var.tags }
}
