provider "aws" {
  region             = "us-east-1"
  profile            = "ml" # the standard credential chain; never keys in the file
  execution_role_arn = "arn:aws:iam::123456789012:role/llmops-sagemaker"
  prices             = { "ml.p4d.24xlarge" = 32.77 }
}

# A fine-tune as a SageMaker training job, on managed spot capacity.
training_run "ft" {
  provider   = aws
  base_model = model.base.id
  dataset    = dataset.tickets.id
  command    = ["python", "train.py"]

  resources {
    gpus         = 8
    gpu_type     = "A100"
    max_duration = "12h"
  }

  aws {
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1.4"
    spot  = true
  }
}
