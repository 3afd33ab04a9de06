# Fewer instances, and a block removed.
resource "test_value" "n" {
  count = 1
  name  = "n${count.index}"
  input = count.index
}
