#!/bin/bash
# A toy "training" job that follows the job contract with bash and awk: the
# model is the base vocabulary plus the words of the training split seen at
# least min_count times. One checkpoint per epoch under
# $LLMOPS_OUTPUT_DIR/checkpoints; with LLMOPS_RESUME_FROM (a retry after
# preemption) it continues from the epoch recorded there.
set -euo pipefail
out=$LLMOPS_OUTPUT_DIR
train=${LLMOPS_TRAIN_PATH:-$LLMOPS_DATASET_PATH}
hp() { sed -n "s/.*\"$1\": *\([0-9.]*\).*/\1/p" <<<"$LLMOPS_HPARAMS"; }
epochs=$(hp epochs); epochs=${epochs:-1}
min_count=$(hp min_count); min_count=${min_count:-1}
echo "training on $(hostname), GPUs: ${CUDA_VISIBLE_DEVICES:-none}, nodes: $WORLD_SIZE"

start=1
vocab=$(mktemp)
cp "$LLMOPS_BASE_MODEL_PATH/vocab.txt" "$vocab"
if [[ -n ${LLMOPS_RESUME_FROM:-} ]]; then
  start=$(($(cat "$LLMOPS_RESUME_FROM/epoch") + 1))
  cp "$LLMOPS_RESUME_FROM/vocab.txt" "$vocab"
  echo "resuming at epoch $start from $LLMOPS_RESUME_FROM"
fi
for ((e = start; e <= epochs; e++)); do
  sed 's/.*"text": *"\([^"]*\)".*/\1/' "$train" | tr -cs 'a-z0-9' '\n' | sort | uniq -c |
    awk -v m="$min_count" '$1 >= m { print $2 }' | sort -u - "$vocab" >"$vocab.new"
  mv "$vocab.new" "$vocab"
  ck="$out/checkpoints/epoch-$(printf %03d "$e")"
  mkdir -p "$ck.tmp" && cp "$vocab" "$ck.tmp/vocab.txt" && echo "$e" >"$ck.tmp/epoch" && mv "$ck.tmp" "$ck"
  printf '{"epoch": %d, "vocab_size": %d}\n' "$e" "$(wc -l <"$vocab")" >>"$out/metrics.jsonl"
  sleep 1
done
mkdir -p "$out/model"
cp "$vocab" "$out/model/vocab.txt"
printf '{"vocab_size": %d, "epochs": %d}\n' "$(wc -l <"$vocab")" "$epochs" >"$out/metrics.json"
rm -f "$vocab"
