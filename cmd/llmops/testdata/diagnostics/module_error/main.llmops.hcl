module "bot" {
  source = "./modules/bot"
  langs  = ["en"]
}

output "endpoint" {
  value = module.bot.endpoint
}
