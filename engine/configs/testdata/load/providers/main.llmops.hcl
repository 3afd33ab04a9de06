provider "slurm" {
  alias = "onprem"
}

dataset "quoted" {
  provider = "local"
}

dataset "too_long" {
  provider = local.a.b
}

dataset "indexed" {
  provider = local[0]
}

dataset "undeclared_alias" {
  provider = local.nowhere
}

training_run "both" {
  provider = slurm.onprem
  placement {
    candidates = [slurm.onprem, local]
  }
}

training_run "bad_candidates" {
  placement {
    candidates = ["local", slurm.missing]
  }
}

training_run "no_candidates" {
  placement {
    candidates = []
  }
}

dataset "placed" {
  placement {
    candidates = [local]
  }
}

deployment "ok" {
  placement {
    candidates = [slurm.onprem, local]
  }
}

training_run "placement_unknown_arg" {
  placement {
    candidates = [local]
    budget     = 3
  }
}

evaluation "undeclared_candidate" {
  placement {
    candidates = [slurm.missing, local]
  }
}

embedding_index "implied_candidates" {
  placement {
    candidates = [null, local]
  }
}
