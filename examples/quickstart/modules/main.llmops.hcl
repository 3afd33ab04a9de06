# The quickstart as a module: a learning-rate sweep of the same fine-tune,
# one module instance per rate, each with its own training run and gated
# evaluation. Run it from this directory (see ../README.md, "Modules"):
#
#   llmops init && llmops apply -auto-approve
#
# It also shows a data source: data "model" pins the base model's digest
# without importing it, and the sweep refuses to run if it changed.

variable "rates" {
  type        = map(number)
  default     = { fast = 0.02, slow = 0.01 }
  description = "The learning rates of the sweep, by name: one module instance each."
}

# The quickstart's data and base model are one level up.
provider "local" {
  allowed_roots = [dirname(path.root)]
}

# Read, never managed: the digest of ../base as it is now.
data "model" "base" {
  source = "file://../base"
}

model "base" {
  source  = "file://../base"
  license = "apache-2.0"
}

dataset "tickets" {
  source = "file://../data/tickets.jsonl"
  split  = { train = 0.9, eval = 0.1 }
  seed   = 1
}

module "sweep" {
  source   = "./finetune" # or "git::https://git.example.com/ml/llm-modules.git//finetune?ref=v1.0.0"
  for_each = var.rates

  base_model    = model.base.id
  base_digest   = data.model.base.digest
  baseline_path = model.base.path
  dataset       = dataset.tickets.id
  learning_rate = each.value
  run_name      = "${llmops.workspace}-${each.key}"
}

# Renaming a block no longer retrains: after moving training_run "ft" of
# the quickstart into this module, say so (addresses are those of the
# state being moved):
#
# moved {
#   from = training_run.ft
#   to   = module.sweep["fast"].training_run.ft
# }

output "accuracy" {
  description = "Accuracy on the held-out split, per rate."
  value       = { for name, m in module.sweep : name => m.accuracy }
}

output "best_model" {
  description = "The fine-tuned model of the most accurate rate."
  value       = [for name, m in module.sweep : m.model if m.accuracy == max(values({ for n, x in module.sweep : n => x.accuracy })...)][0]
}
