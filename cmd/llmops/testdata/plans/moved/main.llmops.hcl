# A rename by a moved block: the plan says "has moved to", replaces
# nothing, and explains no symbols (there is no action to explain).
resource "null_value" "welcome" {
  input = "hello"
}

moved {
  from = null_value.greeting
  to   = null_value.welcome
}
