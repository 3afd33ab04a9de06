variable "api_key" {
  type      = string
  sensitive = true
}

resource "null_value" "r" {
  input = var.api_key
}
