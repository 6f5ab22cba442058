#!/bin/bash
# validate.sh: the CUDA checks and benchmarks on the GPU machine, after `. tools/gpu-box/setup.sh`.
#   bash tools/gpu-box/validate.sh STAGE...   (stages run in the order given)
#     tests     build the engine with CUDA from source; test_cuda_backend (every op against the
#               CPU, selections, golden fixtures); the Node tests through the addon on the GPU
#     bench     bench_cuda.py: prefill 8K/32K and batch-1 decode against transformers, the decode
#               attention kernel's bandwidth; then the addon path's throughput (engine-throughput)
#     kernels   the kernels alone on the Llama-3-8B shape: prefill attention TFLOP/s at 8K and
#               32K tokens (4096-token chunks, as the engine runs them; each prefill kernel the
#               card runs), decode bandwidth over 64 x 32K-token caches in pool order and
#               shuffled against the copy bandwidth, one layer's compression at 32K tokens, and
#               one layer's projection GEMMs over a 4096-token chunk
#     job       the product's job: 64 x 32K-token documents, 256 new tokens, HeadKV-R2 at kv_size
#               128 against transformers at its largest batch
#     longest   transformers' longest single document (lengths in HF_LONGEST)
#     memcheck  compute-sanitizer memcheck over test_cuda_backend
# Logs go to $OUT/validate.log, benchmark records to $OUT/<stage>.json. The Llama-3-8B-shape
# random model is written once to .bench-model/ and reused.
set -u
OUT=${OUT:-.device-out}
mkdir -p "$OUT"
LOG="$OUT/validate.log"
PATH="$PATH:/usr/local/cuda/bin"
MODEL=.bench-model
BUILD=native/build-cuda

say() { echo "=== $* ($(date +%T))" | tee -a "$LOG"; }
run() {
  "$@" 2>&1 | tee -a "$LOG"
  echo "exit ${PIPESTATUS[0]}: $1" | tee -a "$LOG"
}
build() {
  [ -x "$BUILD/bench_cuda" ] && return
  run cmake -S native -B "$BUILD" -DHEADKV_CUDA=ON -DCMAKE_BUILD_TYPE=Release
  run cmake --build "$BUILD" -j 16 --target test_cuda_backend bench_cuda
}

for stage in "$@"; do
  say "$stage"
  case "$stage" in
    tests)
      run nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
      build
      run "$BUILD/test_cuda_backend"
      run node --test dist/test/engine/cuda-device.test.js dist/test/engine/lifecycle.test.js
      ;;
    bench)
      build
      PYTHONUNBUFFERED=1 run python3 tools/bench/bench_cuda.py --engine "$BUILD/bench_cuda" --model-dir "$MODEL" \
        --out "$OUT/bench.json" --prefill 8192,32768 --decode-steps 32 --decode-kernel 64,32768
      run node dist/tools/bench/engine-throughput.js --model "$MODEL" --device cuda --docs 16 --prompt 8192 \
        --new 128 --kv snapkv --kv-size 128 --max-sequences 16
      ;;
    kernels)
      build
      run "$BUILD/bench_cuda" none --prefill-kernel 8192,32,8,128,4096
      run "$BUILD/bench_cuda" none --prefill-kernel 32768,32,8,128,4096
      run "$BUILD/bench_cuda" none --decode-kernel 64,32768,32,8,128
      run "$BUILD/bench_cuda" none --compress-kernel 32768,32,8,128,8
      run "$BUILD/bench_cuda" none --gemm 4096,4096,4096,1024,14336
      ;;
    job)
      build
      PYTHONUNBUFFERED=1 run python3 tools/bench/bench_cuda.py --engine "$BUILD/bench_cuda" --model-dir "$MODEL" \
        --out "$OUT/job.json" --prefill "" --decode-steps 0 --hf-job 64,32768,256 --job 64,32768,256,128 \
        --job-method headkv
      ;;
    longest)
      build
      PYTHONUNBUFFERED=1 run python3 tools/bench/bench_cuda.py --engine "$BUILD/bench_cuda" --model-dir "$MODEL" \
        --out "$OUT/longest.json" --prefill "" --decode-steps 0 --hf-longest "${HF_LONGEST:-131072,196608,262144}" \
        --longest "${LONGEST:-}"
      ;;
    memcheck)
      build
      run compute-sanitizer --tool memcheck --leak-check full --error-exitcode 1 "$BUILD/test_cuda_backend"
      ;;
    *) echo "validate.sh: unknown stage $stage" | tee -a "$LOG" ;;
  esac
done
