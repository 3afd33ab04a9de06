module "bot" {
  source = "./modules/bot"
  lang   = "en"
}

output "endpoint" {
  value = module.bot.endpoint
}
