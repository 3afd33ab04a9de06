data "llmops_state" "platform" {
  path = "platform"
}

data "test_lookup" "known" {
  key = "base"
}

resource "test_value" "made" {
  name  = "made"
  input = "fresh"
}

# Its configuration is known only after test_value.made is created.
data "test_lookup" "later" {
  key = test_value.made.id
}

resource "test_value" "uses" {
  name  = "uses"
  input = {
    endpoint = data.llmops_state.platform.outputs.endpoint
    regions  = data.llmops_state.platform.outputs.regions
    known    = data.test_lookup.known.value
    later    = data.test_lookup.later.length
  }
}

module "m" {
  source   = "./modules/m"
  for_each = toset(data.llmops_state.platform.outputs.regions)
  region   = each.key
}
