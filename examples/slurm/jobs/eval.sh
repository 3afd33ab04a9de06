#!/bin/bash
# Evaluation (job contract): the share of the eval split's words that the
# model knows, written to LLMOPS_OUTPUT_DIR/metrics.json.
set -euo pipefail
words=$(mktemp)
sed 's/.*"text": *"\([^"]*\)".*/\1/' "$LLMOPS_DATASET_PATH" | tr -cs 'a-z0-9' '\n' | grep -v '^$' >"$words" || true
total=$(wc -l <"$words")
known=$(grep -cxFf "$LLMOPS_MODEL_PATH/vocab.txt" "$words" || true)
awk -v k="$known" -v t="$total" 'BEGIN { printf "{\"coverage\": %.4f, \"eval_words\": %d}\n", (t ? k / t : 0), t }' >"$LLMOPS_OUTPUT_DIR/metrics.json"
cat "$LLMOPS_OUTPUT_DIR/metrics.json"
rm -f "$words"
