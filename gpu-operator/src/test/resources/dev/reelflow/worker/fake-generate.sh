#!/usr/bin/env bash
# Test stand-in for HunyuanVideo-1.5's generate.py: same kind of arguments, tqdm-style progress
# on stderr, an MP4 at --output_path. Starts a helper child (like a dataloader worker) whose pid
# it writes to <output dir>/child.pid, so tests can check that cancel kills the whole tree.
# Exit 2 with an argparse-style message on bad arguments.
set -u
prompt="" seed=0 frames=0 steps=0 width=0 height=0 output="" step_seconds=0.05 fps=24 fail=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prompt) prompt="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --video_length) frames="$2"; shift 2 ;;
    --num_inference_steps) steps="$2"; shift 2 ;;
    --width) width="$2"; shift 2 ;;
    --height) height="$2"; shift 2 ;;
    --fps) fps="$2"; shift 2 ;;
    --output_path) output="$2"; shift 2 ;;
    --step_seconds) step_seconds="$2"; shift 2 ;;
    --fail) fail="$2"; shift 2 ;;
    --resolution|--aspect_ratio) shift 2 ;;
    *) echo "generate.py: error: unrecognized arguments: $1" >&2; exit 2 ;;
  esac
done
if [ -z "$prompt" ] || [ "$frames" -le 0 ] || [ "$steps" -le 0 ] || [ -z "$output" ]; then
  echo "generate.py: error: --prompt, --video_length, --num_inference_steps and --output_path are required" >&2
  exit 2
fi
sleep 1000 &
echo $! > "$(dirname "$output")/child.pid"
echo "loading pipeline (seed $seed)"
for k in $(seq 1 "$steps"); do
  sleep "$step_seconds"
  pct=$(( k * 100 / steps ))
  printf '%3d%%|#####     | %d/%d [00:01<00:01, 3.21it/s]\n' "$pct" "$k" "$steps" >&2
done
if [ "$fail" = "engine" ]; then
  echo "RuntimeError: CUDA error: an illegal memory access was encountered" >&2
  exit 1
fi
ffmpeg -loglevel error -y -f lavfi -i "testsrc2=size=${width}x${height}:rate=${fps}" \
  -frames:v "$frames" -pix_fmt yuv420p "$output" || exit 1
kill %1 2>/dev/null
echo "saved video to $output"
