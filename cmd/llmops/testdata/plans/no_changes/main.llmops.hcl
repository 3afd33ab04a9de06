# The configuration applied, unchanged: exit code 0 with -detailed-exitcode.
resource "null_value" "a" {
  input = "a"
}
