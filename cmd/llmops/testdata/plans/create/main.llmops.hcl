# A first plan: count, for_each, nested values, outputs.
variable "regions" {
  type    = map(object({ replicas = number }))
  default = { eu = { replicas = 2 }, us = { replicas = 1 } }
}

locals {
  greeting = "You are a support agent. Answer {{question}} in {{language}}."
}

prompt "support" {
  template = local.greeting
}

resource "null_value" "region" {
  for_each = var.regions
  input = {
    name     = each.key
    replicas = each.value.replicas
    tags     = ["llm", each.key]
  }
}

resource "null_value" "shard" {
  count = 2
  input = "shard-${count.index}"
}

output "shards" {
  value = null_value.shard[*].id
}

output "prompt_variables" {
  value = prompt.support.variables
}
