data "model" "base" {
  source   = "hf://org/base"
  revision = "main"
}

data "llmops_state" "platform" {
  path = "../platform"
  lifecycle {
    prevent_destroy = true
  }
}

data "model" "base" {
  source = "again"
}

moved {
  from = training_run.old
  to   = module.bot.training_run.ft
}

moved {
  from = dataset.d
  to   = dataset.d["eu"]
}

moved {
  from = module.a
  to   = module.b["x"]
}

moved {
  from = model.m
  to   = dataset.m
}

moved {
  from = module.a
  to   = model.m
}

moved {
  from = "model.m"
  to   = model.n
}

moved {
  from = data.model.base
  to   = data.model.other
}
