prompt "support" {
  template  = "You answer support tickets about {{product}}. Ticket: {{ticket}}"
  variables = ["product", "ticket"]
}
