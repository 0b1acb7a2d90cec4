#!/usr/bin/env bash
# Counts the lines of MQTT plumbing in the memory worker before (hand-written on rumqttc) and
# after (tars-mqtt) the migration.
#
# Rule: a line counts when it lies between a `// mqtt-plumbing: begin` and the next
# `// mqtt-plumbing: end` marker, is not blank, and is not a comment (`//`, `///`, `//!`).
# Both files share the worker's own logic (storage, retrieval, the character), which is outside
# the markers; `use` lines are outside too.
#
# Usage: bash examples/migration/count_lines.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

count() {
  awk '
    /\/\/ mqtt-plumbing: begin/ { inside = 1; next }
    /\/\/ mqtt-plumbing: end/   { inside = 0; next }
    inside && $0 !~ /^[[:space:]]*$/ && $0 !~ /^[[:space:]]*\/\// { n++ }
    END { print n + 0 }
  ' "$1"
}

before=$(count examples/migration/hand_written.rs)
after=$(count examples/memory_worker.rs)
echo "hand-written on rumqttc (examples/migration/hand_written.rs): $before lines of MQTT plumbing"
echo "tars-mqtt (examples/memory_worker.rs):                       $after lines of MQTT plumbing"
awk -v b="$before" -v a="$after" 'BEGIN { printf "reduction: %d lines (%.0f%%)\n", b - a, 100 * (b - a) / b }'
