resource "null_value" "a" {
  input = "a"
}

output "a" {
  value = null_value.a.output
}

output "gone" {
  value = "bye"
}
