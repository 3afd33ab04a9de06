resource "test_value" "base" {
  name  = "base"
  input = "weights"
}

module "bot" {
  source = "./modules/bot"
  base   = test_value.base.output
}

resource "test_value" "serve" {
  name  = "serve"
  input = module.bot.model
}

moved {
  from = test_value.ft
  to   = module.bot.test_value.ft
}
