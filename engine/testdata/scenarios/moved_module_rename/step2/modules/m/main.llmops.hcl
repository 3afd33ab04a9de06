variable "lang" {}

resource "test_value" "v" {
  name  = "v-${var.lang}"
  input = var.lang
}
