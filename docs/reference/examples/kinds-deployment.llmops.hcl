deployment "tickets" {
  model    = training_run.ft.output_model
  replicas = 2
  strategy = "blue_green"

  serve {
    command     = ["python3", "serve.py", "--model", "{model_path}", "--port", "{port}"]
    health_path = "/health"
  }

  access {
    api_keys            = [var.api_key]
    requests_per_minute = 600
  }

  depends_on = [evaluation.quality]
}
