#!/usr/bin/env bash
# End-to-end DenseNAS demo on the embedded digits data (CPU, ~15 minutes on
# 2 loaded cores; see docs/demo.md):
#
#   make demo                     # = make env && bash tools/demo.sh
#   bash tools/demo.sh            # when the environment is already set up
#
# data -> CPU latency table (cached) -> DenseNAS search (warm-up, then arch
# updates; pictures every 5 epochs) -> derived architecture -> supernet ->
# subnet checkpoint (warm start) -> short retrain -> mmcls test, and the same
# retrain + test for a random architecture of the same space and LUT latency
# -> latency audit (LUT vs measured), FLOPs/params -> summary table
# ($WORK_DIR/summary.txt and summary.json) and pictures ($WORK_DIR/plots,
# $WORK_DIR/search/vis).
#
# Environment:
#   WORK_DIR              where every step writes (default work_dirs/demo)
#   DENSENAS_DEMO_DATA    demo data root (default data/demo_digits)
#   PYTHON                interpreter (default python)
#   DEMO_THREADS          torch / OMP threads of every step (default 1: on a
#                         shared 2-core machine 1 thread is much faster)
#   DEMO_SEARCH_EPOCHS    search epochs in total (default 20)
#   DEMO_WARMUP_EPOCHS    of which warm-up (default 12; at most total - 1)
#   DEMO_RETRAIN_EPOCHS   retrain epochs of each derived net (default 8)
#   DEMO_WARM_START       1: retrain from the supernet's weights (default 1)
#   DEMO_ARCH             best | last: which derived arch to retrain (default
#                         best: the top-1 by supernet accuracy on search-val
#                         after warm-up; last: the newest)
#   DEMO_LUT              latency table (default: the builder's name for
#                         the demo space, cpu, batch 32, DEMO_THREADS, i.e.
#                         work_dirs/latency/densenas_demo_32_cpu_b32_t1.json,
#                         the demo search config's lut_file)
#   DEMO_LUT_ARGS         extra arguments of tools/build_latency_lut.py
#   DEMO_AUDIT_ARGS       extra arguments of tools/analysis/latency_audit.py
#   DEMO_STEPS            space-separated subset of the steps to run
#
# Each step is a function `step_<name>`; STEPS lists them in order. Steps
# share results through files under $WORK_DIR only, so a step can be rerun
# alone, e.g. DEMO_STEPS="summary" bash tools/demo.sh.
set -euo pipefail

cd "$(dirname "$0")/.."

WORK_DIR=${WORK_DIR:-work_dirs/demo}
DENSENAS_DEMO_DATA=${DENSENAS_DEMO_DATA:-data/demo_digits}
PYTHON=${PYTHON:-python}
DEMO_THREADS=${DEMO_THREADS:-1}
DEMO_SEARCH_EPOCHS=${DEMO_SEARCH_EPOCHS:-20}
DEMO_WARMUP_EPOCHS=${DEMO_WARMUP_EPOCHS:-12}
DEMO_RETRAIN_EPOCHS=${DEMO_RETRAIN_EPOCHS:-8}
DEMO_WARM_START=${DEMO_WARM_START:-1}
DEMO_ARCH=${DEMO_ARCH:-best}
export DENSENAS_DEMO_DATA  # read by configs/_base_/datasets/demo_digits.py
export OMP_NUM_THREADS=$DEMO_THREADS MKL_NUM_THREADS=$DEMO_THREADS

if ((DEMO_WARMUP_EPOCHS >= DEMO_SEARCH_EPOCHS)); then
    DEMO_WARMUP_EPOCHS=$((DEMO_SEARCH_EPOCHS - 1))
fi

SEARCH_CONFIG=configs/densenas/densenas_supernet-demo_1xb32-20e_digits.py
SUBNET_CONFIG=configs/densenas/subnets/densenas-subnet_1xb32-10e_digits.py
SPACE_CONFIG=configs/_base_/search_spaces/densenas_demo_32.py
LUT_ARGS=(--device cpu --batch-size 32 --threads "$DEMO_THREADS")
# One naming rule (densenas_mm/latency/paths.py): ask the builder.
DEMO_LUT=${DEMO_LUT:-$("$PYTHON" tools/build_latency_lut.py "$SPACE_CONFIG" \
    "${LUT_ARGS[@]}" --print-path)}

# In-process data loading: worker processes only compete for the 2 cores.
LOADERS=(train_dataloader.num_workers=0 train_dataloader.persistent_workers=False
         val_dataloader.num_workers=0 val_dataloader.persistent_workers=False
         test_dataloader.num_workers=0 test_dataloader.persistent_workers=False)

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

step_data() {
    log "build the demo data in $DENSENAS_DEMO_DATA (kept if complete)"
    "$PYTHON" tools/dataset/make_demo_data.py --out "$DENSENAS_DEMO_DATA"
}

step_lut() {
    log "latency table for the demo space on this CPU ($DEMO_THREADS thread(s)): $DEMO_LUT"
    # Resumable and cached: entries already in the table (same device,
    # batch, dtype, threads) are reused; a complete table is not remeasured.
    "$PYTHON" tools/build_latency_lut.py "$SPACE_CONFIG" "${LUT_ARGS[@]}" \
        --out "$DEMO_LUT" ${DEMO_LUT_ARGS:-}
}

step_search() {
    log "DenseNAS search: $DEMO_SEARCH_EPOCHS epochs, $DEMO_WARMUP_EPOCHS of them warm-up"
    rm -rf "$WORK_DIR/search"
    "$PYTHON" tools/train.py "$SEARCH_CONFIG" --work-dir "$WORK_DIR/search" \
        --cfg-options "${LOADERS[@]:0:2}" \
        train_cfg.arch_dataloader.num_workers=0 \
        train_cfg.arch_dataloader.persistent_workers=False \
        val_dataloader.num_workers=0 val_dataloader.persistent_workers=False \
        model.estimator.lut="$DEMO_LUT" \
        train_cfg.max_epochs="$DEMO_SEARCH_EPOCHS" \
        param_scheduler.architecture.0.T_max="$DEMO_SEARCH_EPOCHS" \
        custom_hooks.0.warmup_epochs="$DEMO_WARMUP_EPOCHS" \
        train_cfg.val_begin=$((DEMO_WARMUP_EPOCHS + 1))
}

step_derive() {
    local src="$WORK_DIR/search/arch/$DEMO_ARCH.yaml"
    log "derived architecture: $src -> $WORK_DIR/arch.yaml"
    cp "$src" "$WORK_DIR/arch.yaml"
    cat "$WORK_DIR/search/arch/epoch_$DEMO_SEARCH_EPOCHS.net_config" 2>/dev/null || true
    log "random architecture of the same space with the closest LUT latency"
    "$PYTHON" tools/analysis/random_arch.py "$SEARCH_CONFIG" \
        "$WORK_DIR/random.yaml" --seed 0 --lut "$DEMO_LUT" \
        --match "$WORK_DIR/arch.yaml"
}

# retrain NAME: supernet -> subnet checkpoint (warm start), train, test.
retrain() {
    local name=$1 arch="$WORK_DIR/$1.yaml" init=()
    if [[ "$DEMO_WARM_START" == 1 ]]; then
        log "[$name] supernet -> subnet checkpoint (warm start)"
        "$PYTHON" tools/model_converters/supernet_to_subnet.py \
            "$(last_checkpoint "$WORK_DIR/search")" "$arch" \
            "$WORK_DIR/${name}_init.pth" --config "$SUBNET_CONFIG"
        init=(load_from="$WORK_DIR/${name}_init.pth")
    fi
    log "[$name] retrain for $DEMO_RETRAIN_EPOCHS epochs"
    rm -rf "$WORK_DIR/$name"
    "$PYTHON" tools/train.py "$SUBNET_CONFIG" --work-dir "$WORK_DIR/$name" \
        --cfg-options "${LOADERS[@]}" model.backbone.arch="$arch" \
        train_cfg.max_epochs="$DEMO_RETRAIN_EPOCHS" \
        param_scheduler.0.T_max="$DEMO_RETRAIN_EPOCHS" \
        param_scheduler.0.end="$DEMO_RETRAIN_EPOCHS" "${init[@]}"
    log "[$name] evaluate on the test split (mmcls Accuracy)"
    "$PYTHON" tools/test.py "$SUBNET_CONFIG" \
        "$(last_checkpoint "$WORK_DIR/$name")" \
        --work-dir "$WORK_DIR/${name}_test" \
        --out "$WORK_DIR/${name}_test/metrics.json" \
        --cfg-options "${LOADERS[@]}" model.backbone.arch="$arch"
}

step_retrain_searched() { retrain arch; }
step_retrain_random() { retrain random; }

step_measure() {
    local name
    for name in arch random; do
        log "[$name] LUT-predicted vs measured latency; FLOPs and params"
        "$PYTHON" tools/analysis/latency_audit.py "$WORK_DIR/$name.yaml" \
            --lut "$DEMO_LUT" --threads "$DEMO_THREADS" \
            --json "$WORK_DIR/${name}_audit.json" ${DEMO_AUDIT_ARGS:-}
        "$PYTHON" tools/analysis/get_flops.py "$SUBNET_CONFIG" --shape 32 \
            --cfg-options model.backbone.arch="$WORK_DIR/$name.yaml" \
            --json "$WORK_DIR/${name}_flops.json"
    done
}

step_plots() {
    log "pictures of the search -> $WORK_DIR/plots (and $WORK_DIR/search/vis)"
    "$PYTHON" tools/analysis/plot_arch.py "$SEARCH_CONFIG" \
        --checkpoint "$(last_checkpoint "$WORK_DIR/search")" \
        --history "$WORK_DIR/search/vis/history.json" \
        --out-dir "$WORK_DIR/plots"
}

step_summary() {
    log "summary"
    "$PYTHON" tools/analysis/demo_summary.py "$WORK_DIR"
}

STEPS=(data lut search derive retrain_searched retrain_random measure plots)

# Seconds per step, merged into $WORK_DIR/timing.json.
record_time() {
    "$PYTHON" - "$WORK_DIR/timing.json" "$1" "$2" <<'EOF'
import json, os, sys
path, step, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
data = json.load(open(path)) if os.path.exists(path) else {}
data[step] = secs
json.dump(data, open(path, 'w'), indent=1)
EOF
}

main() {
    mkdir -p "$WORK_DIR"
    local steps=("${STEPS[@]}")
    if [[ -n "${DEMO_STEPS:-}" ]]; then
        read -r -a steps <<<"${DEMO_STEPS//summary/}"
    else
        rm -f "$WORK_DIR/timing.json"
    fi
    local start=$SECONDS step t0
    for step in "${steps[@]}"; do
        t0=$SECONDS
        "step_$step"
        record_time "$step" $((SECONDS - t0))
    done
    record_time total $((SECONDS - start))
    step_summary  # always last, so that it shows the timing
    log "done in $((SECONDS - start)) s; results in $WORK_DIR/summary.txt"
}

main "$@"
