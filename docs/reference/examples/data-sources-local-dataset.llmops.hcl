# A dataset file that exists, read to its digest: a change of its content
# shows in the plan of everything that refers to it.
data "dataset" "eval" {
  source = "file://data/eval.jsonl"
}

output "eval_rows_digest" {
  value = data.dataset.eval.digest
}
