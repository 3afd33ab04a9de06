variable "base" {
  type = string
}

variable "lang" {
  type = string
  validation {
    condition     = strlen(var.lang) == 2
    error_message = "lang is a two-letter code."
  }
}

locals {
  tag = "${var.lang}-${path.module == path.root ? "root" : "mod"}"
}

resource "test_value" "ft" {
  name  = "ft-${var.lang}"
  input = "${var.base}/${local.tag}/v2"
}

module "inner" {
  source = "./inner"
  from   = test_value.ft.output
}

output "endpoint" {
  value = module.inner.url
}
