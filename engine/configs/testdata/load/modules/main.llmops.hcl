provider "slurm" {
  alias = "onprem"
}

model "base" {
  source = "hf://org/base"
}

module "support_bot" {
  source   = "./modules/finetune"
  for_each = toset(["en", "de"])
  base     = model.base.id
  lr       = 0.0002
  providers = {
    slurm.gpu = slurm.onprem
  }
}

module "bad" {
  source = "./modules/bad"
  nope   = 1
}

module "missing" {
  source = "./modules/none"
}

module "remote" {
  source = "git::https://git.example.com/ml/llm-modules.git//finetune?ref=v1.4.0"
}

output "endpoint" {
  value = module.support_bot["en"].endpoint
}
