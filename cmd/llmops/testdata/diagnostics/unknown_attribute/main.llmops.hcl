resource "null_value" "r" {
  inptu = "hello"
}
