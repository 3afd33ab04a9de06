module "bot" {
  source   = "git::@REPO_lib@//finetune?ref=main"
  for_each = toset(["en", "de"])
  lang     = each.key
}

resource "test_value" "versions" {
  name  = "versions"
  input = { for k, m in module.bot : k => m.version }
}
