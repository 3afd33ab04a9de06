# The null provider has no configuration; its resource types need no
# provider block.
resource "null_value" "greeting" {
  input = "hello"
}
