# Only outputs change: nothing real does.
resource "null_value" "a" {
  input = "a"
}

output "a" {
  value = upper(null_value.a.output)
}

output "added" {
  value = { x = 1, y = [true, false] }
}
