# Sensitive values never show, in attributes or outputs.
variable "api_key" {
  type      = string
  sensitive = true
  default   = "sk-do-not-print-0123456789"
}

resource "null_value" "secret" {
  input = {
    key  = var.api_key
    user = "svc"
  }
}

output "key" {
  value     = var.api_key
  sensitive = true
}
