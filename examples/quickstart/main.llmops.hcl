# The quickstart: a real lifecycle on a laptop CPU with nothing but Go.
#
#   dataset "tickets"   300 support tickets, split 90/10, seeded
#   model "base"        a tiny character-level language model (80 KB)
#   training_run "ft"   fine-tunes it on the train split (about 10 s)
#   evaluation "quality" measures it on the held-out split against the base
#                        model, with gates that block what depends on it
#
# `llmops init && llmops apply` runs it; see README.md.

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
