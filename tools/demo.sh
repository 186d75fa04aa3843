#!/usr/bin/env bash
# End-to-end DenseNAS demo on CPU (about 15 minutes on 2 cores; see
# docs/demo.md):
#
#   make demo                     # = make env && bash tools/demo.sh
#   bash tools/demo.sh            # when the environment is already set up
#
# data (Fashion-MNIST from Debian's dataset-fashion-mnist; the embedded
# digits when it is not installed) -> CPU latency table (cached) -> DenseNAS
# search (warm-up, then architecture updates; pictures every 5 epochs) ->
# derived architecture -> DEMO_RANDOM random architectures of the same space
# at the closest LUT latencies -> the front of the one search: the most
# probable net under 5 LUT-latency budgets (not retrained) -> every net retrained from scratch with the
# same recipe and evaluated with mmcls (tools/test.py) -> latency audit (LUT
# vs measured), FLOPs/params -> summary table: the searched net against the
# random nets' mean, spread and its rank, and the budget nets
# ($WORK_DIR/summary.txt and summary.json), pictures ($WORK_DIR/plots,
# $WORK_DIR/search/vis, $WORK_DIR/budgets/front.png).
#
# Environment:
#   WORK_DIR              where every step writes (default work_dirs/demo)
#   DEMO_DATA             fashion | digits (default: fashion when installed)
#   DENSENAS_FMNIST       Fashion-MNIST folder (default
#                         /usr/share/datasets/fashion-mnist)
#   DENSENAS_DEMO_DATA    digits data root (default data/demo_digits)
#   PYTHON                interpreter (default python)
#   DEMO_THREADS          torch / OMP threads of every run (default 1: on a
#                         shared 2-core machine 1 thread is much faster)
#   DEMO_JOBS             retrains at once (default 2)
#   DEMO_RANDOM           random architectures to compare with (default 4)
#   DEMO_SEARCH_EPOCHS    override the search config's epochs
#   DEMO_WARMUP_EPOCHS    override its warm-up epochs (at most total - 1)
#   DEMO_RETRAIN_EPOCHS   override the subnet config's epochs
#   DEMO_ARCH             best | last: which derived arch (default best)
#   DEMO_LUT              latency table (default: the builder's name for
#                         the demo space, cpu, batch 32, DEMO_THREADS, i.e.
#                         work_dirs/latency/densenas_demo_32_cpu_b32_t1.json,
#                         the demo search configs' lut_file)
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
DENSENAS_FMNIST=${DENSENAS_FMNIST:-/usr/share/datasets/fashion-mnist}
PYTHON=${PYTHON:-python}
DEMO_THREADS=${DEMO_THREADS:-1}
DEMO_JOBS=${DEMO_JOBS:-2}
DEMO_RANDOM=${DEMO_RANDOM:-4}
DEMO_ARCH=${DEMO_ARCH:-best}
# read by the dataset configs when they are loaded
export DENSENAS_DEMO_DATA DENSENAS_FMNIST
export OMP_NUM_THREADS=$DEMO_THREADS MKL_NUM_THREADS=$DEMO_THREADS

SPACE_CONFIG=configs/_base_/search_spaces/densenas_demo_32.py
if [[ -z "${DEMO_DATA:-}" ]]; then
    if [[ -f "$DENSENAS_FMNIST/train-images-idx3-ubyte.gz" ]]; then
        DEMO_DATA=fashion
    else
        DEMO_DATA=digits
    fi
fi
case "$DEMO_DATA" in
fashion)
    SEARCH_CONFIG=configs/densenas/densenas_supernet-demo_1xb32-20e_fmnist.py
    SUBNET_CONFIG=configs/densenas/subnets/densenas_subnet-demo_1xb32-12e_fmnist.py ;;
digits)
    SEARCH_CONFIG=configs/densenas/densenas_supernet-demo_1xb32-20e_digits.py
    SUBNET_CONFIG=configs/densenas/subnets/densenas_subnet-demo_1xb32-10e_digits.py ;;
*)
    echo "DEMO_DATA must be fashion or digits, got '$DEMO_DATA'" >&2
    exit 2 ;;
esac
LUT_ARGS=(--device cpu --batch-size 32 --threads "$DEMO_THREADS")
# One naming rule (densenas_mm/latency/paths.py): ask the builder.
DEMO_LUT=${DEMO_LUT:-$("$PYTHON" tools/build_latency_lut.py "$SPACE_CONFIG" \
    "${LUT_ARGS[@]}" --print-path)}

# In-process data loading: worker processes only compete for the 2 cores.
no_workers() {
    local loader
    for loader in "$@"; do
        printf '%s ' "$loader.num_workers=0" "$loader.persistent_workers=False"
    done
}
SEARCH_OPTS=($(no_workers train_dataloader train_cfg.arch_dataloader val_dataloader))
SUBNET_OPTS=($(no_workers train_dataloader val_dataloader test_dataloader))
if [[ -n "${DEMO_SEARCH_EPOCHS:-}" ]]; then
    SEARCH_OPTS+=(train_cfg.max_epochs="$DEMO_SEARCH_EPOCHS"
                  param_scheduler.architecture.0.T_max="$DEMO_SEARCH_EPOCHS")
fi
if [[ -n "${DEMO_WARMUP_EPOCHS:-}" ]]; then
    SEARCH_OPTS+=(custom_hooks.0.warmup_epochs="$DEMO_WARMUP_EPOCHS"
                  train_cfg.val_begin=$((DEMO_WARMUP_EPOCHS + 1)))
fi
if [[ -n "${DEMO_RETRAIN_EPOCHS:-}" ]]; then
    e=$DEMO_RETRAIN_EPOCHS
    SUBNET_OPTS+=(train_cfg.max_epochs="$e" param_scheduler.0.T_max="$e"
                  param_scheduler.0.end="$e" train_cfg.val_interval="$e"
                  default_hooks.checkpoint.interval="$e")
fi

log() { printf '\n==> [demo] %s\n' "$*"; }

# Path of the newest checkpoint of a work dir (mmengine's last_checkpoint).
last_checkpoint() {
    local ckpt_file="$1/last_checkpoint"
    if [[ ! -s "$ckpt_file" ]]; then
        echo "no checkpoint recorded in $1" >&2
        return 1
    fi
    local ckpt
    ckpt="$(cat "$ckpt_file")"
    # a path relative to the work dir (how densenas_mm writes it)
    if [[ "$ckpt" != /* ]]; then
        ckpt="$1/$ckpt"
    fi
    echo "$ckpt"
}

# The nets to retrain and compare: arch, random_0, ..., random_<K-1>.
nets() {
    local k
    echo arch
    for ((k = 0; k < DEMO_RANDOM; k++)); do echo "random_$k"; done
}

step_data() {
    if [[ "$DEMO_DATA" == fashion ]]; then
        log "data: Fashion-MNIST from $DENSENAS_FMNIST (read in place)"
        echo "fashion-mnist ($DENSENAS_FMNIST)" > "$WORK_DIR/dataset.txt"
    else
        log "data: the embedded digits in $DENSENAS_DEMO_DATA (Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist)"
        "$PYTHON" tools/dataset/make_demo_data.py --out "$DENSENAS_DEMO_DATA"
        echo "digits (fallback: Fashion-MNIST not installed at $DENSENAS_FMNIST)" \
            > "$WORK_DIR/dataset.txt"
    fi
}

step_lut() {
    log "latency table for the demo space on this CPU ($DEMO_THREADS thread(s)): $DEMO_LUT"
    # Resumable and cached: entries already in the table (same device,
    # batch, dtype, threads) are reused; a complete table is not remeasured.
    # A noisy table (a loaded machine) gets a second try: the build adds
    # rounds to its noisy entries only.
    local try
    for try in 1 2; do
        "$PYTHON" tools/build_latency_lut.py "$SPACE_CONFIG" "${LUT_ARGS[@]}" \
            --out "$DEMO_LUT" ${DEMO_LUT_ARGS:-}
        [[ "$(lut_status)" != noisy ]] && break
    done
}

# The table's noise verdict (ok | noisy | unchecked), see docs/latency.md.
lut_status() {
    "$PYTHON" -c 'import sys
from densenas_mm.latency import LatencyTable
print(LatencyTable.load(sys.argv[1]).quality.status)' "$DEMO_LUT"
}

# The demo uses a table that stayed noisy, says so in its summary
# (lut_noise.txt) and lets the search and the baselines use it; a search
# of your own refuses it unless you set model.estimator.allow_noisy_lut.
noisy_lut_options() {
    if [[ "$(lut_status)" == noisy ]]; then
        echo "latency table $DEMO_LUT stayed noisy (this machine was busy); used anyway" \
            > "$WORK_DIR/lut_noise.txt"
        echo "$1"
    else
        rm -f "$WORK_DIR/lut_noise.txt"
    fi
}

step_search() {
    log "DenseNAS search: $SEARCH_CONFIG"
    rm -rf "$WORK_DIR/search"
    "$PYTHON" tools/train.py "$SEARCH_CONFIG" --work-dir "$WORK_DIR/search" \
        --cfg-options "${SEARCH_OPTS[@]}" model.estimator.lut="$DEMO_LUT" \
        $(noisy_lut_options model.estimator.allow_noisy_lut=True)
}

step_derive() {
    local src="$WORK_DIR/search/arch/$DEMO_ARCH.yaml"
    log "derived architecture: $src -> $WORK_DIR/arch.yaml"
    cp "$src" "$WORK_DIR/arch.yaml"
    log "$DEMO_RANDOM random architectures of the same space at the closest LUT latencies"
    rm -f "$WORK_DIR"/random_*.yaml
    if ((DEMO_RANDOM > 0)); then
        "$PYTHON" tools/analysis/random_arch.py "$SEARCH_CONFIG" \
            "$WORK_DIR/random.yaml" --seed 0 --lut "$DEMO_LUT" \
            --match "$WORK_DIR/arch.yaml" --samples 2000 --count "$DEMO_RANDOM" \
            $(noisy_lut_options --allow-noisy-lut)
        if ((DEMO_RANDOM == 1)); then
            mv "$WORK_DIR/random.yaml" "$WORK_DIR/random_0.yaml"
        fi
    fi
}

# One search, many budgets: the most probable net under 5 LUT-latency
# budgets evenly spaced from the cheapest net to the unconstrained optimum,
# from the search's last checkpoint (not retrained; see docs/subnets.md).
step_budgets() {
    log "nets for 5 latency budgets from the one search (not retrained) -> $WORK_DIR/budgets"
    "$PYTHON" tools/analysis/derive_budgets.py "$SEARCH_CONFIG" \
        "$(last_checkpoint "$WORK_DIR/search")" --front 5 --lut "$DEMO_LUT" \
        --out-dir "$WORK_DIR/budgets" $(noisy_lut_options --allow-noisy-lut)
}

# retrain NAME: train from scratch with the subnet config, then test.
retrain() {
    local name=$1 arch="$WORK_DIR/$1.yaml"
    rm -rf "$WORK_DIR/$name" "$WORK_DIR/${name}_test"
    "$PYTHON" tools/train.py "$SUBNET_CONFIG" --work-dir "$WORK_DIR/$name" \
        --cfg-options "${SUBNET_OPTS[@]}" model.backbone.arch="$arch" \
        > "$WORK_DIR/${name}_train.log" 2>&1
    "$PYTHON" tools/test.py "$SUBNET_CONFIG" \
        "$(last_checkpoint "$WORK_DIR/$name")" \
        --work-dir "$WORK_DIR/${name}_test" \
        --out "$WORK_DIR/${name}_test/metrics.json" \
        --cfg-options "${SUBNET_OPTS[@]}" model.backbone.arch="$arch" \
        > "$WORK_DIR/${name}_test.log" 2>&1
    echo "[$name] $(cat "$WORK_DIR/${name}_test/metrics.json")"
}

step_retrain() {
    log "retrain $(nets | wc -l) nets from scratch ($SUBNET_CONFIG), $DEMO_JOBS at a time; logs: $WORK_DIR/<net>_train.log"
    local name pids=() failed=0 pid
    for name in $(nets); do
        retrain "$name" &
        pids+=($!)
        while (($(jobs -rp | wc -l) >= DEMO_JOBS)); do wait -n || failed=1; done
    done
    for pid in $(jobs -rp); do wait "$pid" || failed=1; done
    if ((failed)); then
        echo "a retrain failed; see the logs in $WORK_DIR" >&2
        return 1
    fi
}

step_measure() {
    local name
    for name in $(nets); do
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

STEPS=(data lut search derive budgets retrain measure plots)

# Seconds per step, merged into $WORK_DIR/timing.json.
record_time() {
    "$PYTHON" - "$WORK_DIR/timing.json" "$1" "$2" <<'EOF'
import json, os, sys
from densenas_mm.utils.io import dump_json_atomic
path, step, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
data = json.load(open(path)) if os.path.exists(path) else {}
data[step] = secs
dump_json_atomic(data, path)
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
