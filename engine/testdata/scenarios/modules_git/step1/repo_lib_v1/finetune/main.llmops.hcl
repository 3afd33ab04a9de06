variable "lang" {
  type = string
}

resource "test_value" "ft" {
  name  = "ft-${var.lang}"
  input = "v1-${var.lang}"
}

output "version" {
  value = "v1"
}
