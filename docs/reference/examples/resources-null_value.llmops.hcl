resource "null_value" "settings" {
  input            = { learning_rate = 0.01 }
  triggers_replace = { dataset = dataset.tickets.id }
}

output "settings" {
  value = null_value.settings.output
}
