#!/usr/bin/env bash
# End-to-end demo on the embedded digits data (CPU, a few minutes).
#
#   bash tools/demo.sh            # or: make demo
#
# Environment:
#   WORK_DIR            where every step writes (default: work_dirs/demo)
#   DENSENAS_DEMO_DATA  demo data root (default: data/demo_digits)
#   PYTHON              interpreter (default: python)
#   EPOCHS              baseline training epochs (default: 2)
#
# Each step is a function `step_<name>`; STEPS lists them in order. To add a
# step, define a function and append its name to STEPS. Steps share results
# through files under $WORK_DIR only.
set -euo pipefail

cd "$(dirname "$0")/.."

WORK_DIR=${WORK_DIR:-work_dirs/demo}
DENSENAS_DEMO_DATA=${DENSENAS_DEMO_DATA:-data/demo_digits}
PYTHON=${PYTHON:-python}
EPOCHS=${EPOCHS:-2}
export DENSENAS_DEMO_DATA  # read by configs/_base_/datasets/demo_digits.py

BASELINE_CONFIG=configs/baseline/mobilenet_v2_demo.py
SUMMARY="$WORK_DIR/summary.txt"

log() { printf '\n==> [demo] %s\n' "$*"; }

# Path of the newest checkpoint of a work dir (mmengine's last_checkpoint).
last_checkpoint() {
    local ckpt_file="$1/last_checkpoint"
    if [[ ! -s "$ckpt_file" ]]; then
        echo "no checkpoint recorded in $1" >&2
        return 1
    fi
    cat "$ckpt_file"
}

# Print "top1 top5" from a metrics json written by tools/test.py --out.
read_metrics() {
    "$PYTHON" -c 'import json, sys
m = json.load(open(sys.argv[1]))
print("top1=%.2f top5=%.2f" % (m["accuracy/top1"], m["accuracy/top5"]))' "$1"
}

step_data() {
    log "build the demo data in $DENSENAS_DEMO_DATA"
    "$PYTHON" tools/dataset/make_demo_data.py --out "$DENSENAS_DEMO_DATA"
}

step_baseline_train() {
    log "train the MobileNetV2 baseline for $EPOCHS epochs"
    "$PYTHON" tools/train.py "$BASELINE_CONFIG" \
        --work-dir "$WORK_DIR/baseline" \
        --cfg-options train_cfg.max_epochs="$EPOCHS"
}

step_baseline_test() {
    log "evaluate the baseline on the test split"
    local ckpt
    ckpt=$(last_checkpoint "$WORK_DIR/baseline")
    "$PYTHON" tools/test.py "$BASELINE_CONFIG" "$ckpt" \
        --work-dir "$WORK_DIR/baseline_test" \
        --out "$WORK_DIR/baseline_test/metrics.json"
    local metrics  # assigned apart from `local` so that errors abort
    metrics=$(read_metrics "$WORK_DIR/baseline_test/metrics.json")
    echo "baseline (mmcls MobileNetV2 x0.5, $EPOCHS epochs): $metrics" \
        >>"$SUMMARY"
}

STEPS=(data baseline_train baseline_test)

main() {
    mkdir -p "$WORK_DIR"
    : >"$SUMMARY"
    local start=$SECONDS step
    for step in "${STEPS[@]}"; do
        "step_$step"
    done
    log "done in $((SECONDS - start)) s; results ($SUMMARY):"
    cat "$SUMMARY"
}

main "$@"
