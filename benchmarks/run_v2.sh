#!/usr/bin/env bash
# The VOC-regime bench (FashionPaste 2.0, 320 px) in the order its rows matter:
# the main chain; WISE, PtReCl and the seed methods against what they improve
# on; the Mask R-CNNs and PtReCl's DeepLabV2; the main chain's and the instance
# side's spread at two more seeds; then every other row. Each command skips
# what has finished and resumes what was interrupted, so the script is simply
# run again after an interruption (on 2 CPU cores the whole bench takes many
# hours).
#
# Run it from a worktree fixed at one commit, so that editing the project does
# not change the code digest of the stages under way (a finished stage of
# another code version reruns):
#   git worktree add --detach ../bench HEAD
#   ln -s "$PWD/work_dirs" "$PWD/data" ../bench/
#   cd ../bench && PYTHONPATH=$PWD nohup bash benchmarks/run_v2.sh > bench_v2.log &
# (with the project's virtual environment active: its python on PATH)
# then collect in the project: python tools/benchmark.py --collect [--bench B]
# (the spread runs write benchmarks/results_seed{1,2}.json in the worktree: copy
# them into the project's benchmarks/ first).
# To move the worktree to a later commit whose changes do not touch the stages
# already run (e.g. new configs for stages still to come), check it out there and
# run with BENCH_KEEP='--keep-code all': finished stages are kept and an
# interrupted one resumes (run_pipeline's keep_code), every decision recorded in
# the stage's manifest.
# Where a session's machine does not keep work_dirs (a new machine each
# session), run units that finish within a session instead and collect each
# into the results file with --merge, which keeps the stages of earlier units
# and marks any that is not made from the stages beside it (e.g. SEAM from an
# earlier session's CAM), e.g.
#   python tools/benchmark.py --seed 1 --until irn_labels   (spread, part 1)
#   python tools/run_pipeline.py $SEEDS --until cam_ft_labels --no-report
#   python tools/benchmark.py --bench seeds --collect --merge
# a failing command is logged and the next one runs (its rows are independent)
set -uo pipefail
P=configs/pipelines
SEMANTIC=$P/cam-irn-deeplabv2_effl0_fashionpaste-bench.py
SEEDS=$P/seeds_effl0_fashionpaste-bench.py
INSTANCES=$P/instances_effl0_fashionpaste-bench.py
# extra run_pipeline arguments for every pipeline and spread command, e.g.
# BENCH_KEEP='--keep-code all' after moving the worktree (see above)
KEEP=${BENCH_KEEP:-}

run() {
    echo "=== $(date '+%F %T') run_pipeline $* $KEEP"
    # shellcheck disable=SC2086
    python tools/run_pipeline.py "$@" --no-report $KEEP || echo "=== FAILED ($?): $*"
}

# each method's first comparison before any final net: WISE against IRN's
# instances, PtReCl against IRN's masks, the seed methods against their controls
run "$SEMANTIC" --until deeplabv2_irn        # CAM -> IRN -> DeepLabV2, the bound
run "$INSTANCES" --until wise                # PRM, proposals, WISE
run "$SEMANTIC" --until ptrecl_labels        # PtReCl (and the CRF label rows)
run "$SEEDS" --until cam_hfpl_ft_labels      # SEAM, OAA, OAA+, HFPL, controls
for seed in 1 2 3 4; do                      # the CAM recipe at 5 training seeds
    for stage in cam thresholds cam_labels; do
        run "$SEEDS" --just "$stage@$seed"
    done
done
run "$INSTANCES"                             # Mask R-CNN on each
run "$SEMANTIC" --until deeplabv2_ptrecl     # PtReCl's DeepLabV2
for seed in 1 2; do                          # the main chain's spread
    echo "=== $(date '+%F %T') benchmark.py --seed $seed $KEEP"
    # shellcheck disable=SC2086
    python tools/benchmark.py --seed "$seed" $KEEP || echo "=== FAILED ($?): --seed $seed"
done
for seed in 1 2; do                          # WISE / Mask R-CNN's spread (it
    # reuses the main chain's data, CAM and IRN at that seed)
    echo "=== $(date '+%F %T') benchmark.py --bench instances --seed $seed $KEEP"
    # shellcheck disable=SC2086
    python tools/benchmark.py --bench instances --seed "$seed" $KEEP ||
        echo "=== FAILED ($?): --bench instances --seed $seed"
done
run "$SEMANTIC"                              # ablations, other final nets
run "$SEEDS"                                 # ablations, CAM recipe at 5 seeds
echo "=== $(date '+%F %T') done"
