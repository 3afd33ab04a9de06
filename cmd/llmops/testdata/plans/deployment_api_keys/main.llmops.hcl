# A deployment's api_keys are write-only: never stored or planned, but
# shown as set, (sensitive), not as null.
variable "api_key" {
  type      = string
  sensitive = true
  default   = "sk-do-not-print-0123456789"
}

deployment "api" {
  model = "sha256:5b0caed29d3bdcee32b7faece3169a1705e19d655211d3060f58d73db3f4ab95"

  serve {
    command = ["python3", "serve.py", "--port", "{port}"]
  }

  access {
    api_keys = [var.api_key]
  }
}
