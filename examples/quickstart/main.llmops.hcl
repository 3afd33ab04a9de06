# The quickstart: a real lifecycle on a laptop CPU with nothing but Go.
#
#   dataset "tickets"   300 support tickets, split 90/10, seeded
#   model "base"        a tiny character-level language model (80 KB)
#   training_run "ft"   fine-tunes it on the train split (about 10 s)
#   evaluation "quality" measures it on the held-out split against the base
#                        model, with gates that block what depends on it
#   deployment "tickets" serves it (OpenAI-compatible) behind llmops' gateway,
#                        with an API key and a rate limit, once the gates pass
#   monitor "tickets"   checks its latency, errors and live accuracy
#
# `make demo` (from the repository root) runs it; see README.md.

variable "train_command" {
  type        = list(string)
  default     = ["go", "run", "./train"]
  description = "The training command: any program that follows the job contract, e.g. [\"torchrun\", \"--nproc_per_node=8\", \"train.py\"]."
}

variable "min_accuracy" {
  type        = number
  default     = 0.5
  description = "The accuracy gate on the held-out split (the base model reaches about 0.2)."
}

variable "api_key" {
  type        = string
  sensitive   = true
  description = "The key callers of the deployment send (Authorization: Bearer ...). Only its salted hash is stored. `make demo` generates one; otherwise export LLMOPS_VAR_api_key=$(openssl rand -hex 24)."
}

variable "requests_per_minute" {
  type        = number
  default     = 600
  description = "The deployment's rate limit per key; past it the gateway answers 429."
}

dataset "tickets" {
  source = "file://data/tickets.jsonl"
  split  = { train = 0.9, eval = 0.1 }
  seed   = 1
}

model "base" {
  source  = "file://base"
  license = "apache-2.0"
}

training_run "ft" {
  base_model = model.base.id
  dataset    = dataset.tickets.id
  method     = "full" # or "lora"
  command    = var.train_command
  hyperparameters = {
    learning_rate = 0.01
    epochs        = 2
    batch_size    = 64
    seed          = 1
  }
  resources {
    gpus         = 0 # CPU; with gpus = 1 the job gets CUDA_VISIBLE_DEVICES from nvidia-smi
    max_duration = "30m"
  }
}

evaluation "quality" {
  model   = training_run.ft.output_model
  dataset = dataset.tickets.id # its eval split
  command = ["go", "run", "./eval", "-baseline", model.base.path]

  gate {
    metric = "accuracy"
    min    = var.min_accuracy
  }
  gate {
    metric = "accuracy_gain" # over the base model, on the same split
    min    = 0.2
  }
}

# Serve the fine-tuned model once its evaluation passed. A new model or
# serve command rolls out a new revision blue/green: the endpoint stays.
deployment "tickets" {
  model    = training_run.ft.output_model
  replicas = 1
  strategy = "blue_green"
  serve {
    command = ["go", "run", "./serve", "-model", "{model_path}", "-port", "{port}"]
  }
  access {
    api_keys            = [var.api_key]
    requests_per_minute = var.requests_per_minute
  }
  depends_on = [evaluation.quality]
}

# Checked at each refresh (at most every interval); `llmops watch` alerts.
monitor "tickets" {
  deployment  = deployment.tickets.id
  interval    = "30s"
  evaluations = { quality = evaluation.quality.id }
  api_key     = var.api_key # for the live evaluation

  check "p95_latency_ms" { max = 500 }
  check "error_rate" { max = 0.01 }
  check "eval:quality.accuracy" { min = 0.2 } # the evaluation rerun live (the base model: ~0.1)

  alert { command = ["tee", "-a", ".llmops/alerts.jsonl"] }
  on_breach = "alert"
}

output "endpoint" {
  description = "The deployment's OpenAI-compatible endpoint: stable across revisions."
  value       = deployment.tickets.endpoint
}

output "api_key" {
  description = "The key to call the endpoint with (llmops output -raw api_key)."
  value       = var.api_key
  sensitive   = true
}

output "fine_tuned_model" {
  description = "The trained model's artifact id: usable wherever a model id is (another run's base_model, a deployment)."
  value       = training_run.ft.output_model
}

output "train_metrics" {
  description = "The training run's final metrics (its metrics.json)."
  value       = training_run.ft.metrics
}

output "eval_results" {
  description = "What the evaluation measured on the held-out split: accuracy, perplexity, and the same for the base model (baseline_*)."
  value       = evaluation.quality.results
}

output "eval_passed" {
  value = evaluation.quality.passed
}
