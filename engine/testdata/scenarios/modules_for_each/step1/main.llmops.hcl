variable "langs" {
  default = ["en", "de"]
}

resource "test_value" "base" {
  name  = "base"
  input = "base-model"
}

module "bot" {
  source   = "./modules/bot"
  for_each = toset(var.langs)
  base     = test_value.base.output
  lang     = each.key
}

module "single" {
  source = "./modules/bot"
  base   = "plain"
  lang   = "xx"
}

resource "test_value" "endpoints" {
  name  = "endpoints"
  input = { for k, m in module.bot : k => m.endpoint }
}

output "en" {
  value = module.bot["en"].endpoint
}
