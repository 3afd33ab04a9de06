variable "lang" {
  type = string
}

resource "null_value" "greeting" {
  input = local.greeting
}
