monitor "tickets" {
  deployment = deployment.tickets.id
  interval   = "30s"
  on_breach  = "rollback"

  check "p95_latency_ms" { max = 500 }
  check "error_rate" { max = 0.01 }

  alert {
    webhook = "https://alerts.example.com/llmops"
  }
}
