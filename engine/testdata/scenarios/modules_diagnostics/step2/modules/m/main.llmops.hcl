variable "size" {
  type = number
}

variable "lang" {
  type = string
  validation {
    condition     = strlen(var.lang) == 2
    error_message = "lang is a two-letter code."
  }
}

resource "test_value" "x" {
  input = var.size
}

output "ok" {
  value = test_value.x.id
}
