resource "null_value" "greeting" {
  input = "hello"
}
