resource "test_value" "n" {
  count = 3
  name  = "n${count.index}"
  input = count.index
}
resource "test_value" "gone" {
  name  = "gone"
  input = "bye"
}
