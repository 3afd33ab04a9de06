#!/bin/bash
# Dataset transform (job contract): read LLMOPS_INPUT_PATH, write
# LLMOPS_OUTPUT_DIR/data.jsonl. Lower-cases the text and drops blank lines.
set -euo pipefail
echo "cleaning $LLMOPS_INPUT_PATH on $(hostname)"
grep -v '^[[:space:]]*$' "$LLMOPS_INPUT_PATH" | tr '[:upper:]' '[:lower:]' >"$LLMOPS_OUTPUT_DIR/data.jsonl"
