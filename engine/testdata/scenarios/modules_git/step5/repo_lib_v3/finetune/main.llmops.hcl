variable "lang" {
  type = string
}

resource "test_value" "ft" {
  name  = "ft-${var.lang}"
  input = "v3-${var.lang}"
}

output "version" {
  value = "v3"
}
