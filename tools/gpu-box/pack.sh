#!/bin/sh
# pack.sh: bundles the Node side for the GPU machine into .device/ (see README.md). Run after
# `HEADKV_NATIVE_ARCH=OFF npm run build` on a machine with nvcc, so that the addon holds the
# CUDA backend and no instructions the GPU machine's CPU may lack.
set -eu
cd "$(dirname "$0")/../.."
nm -C native/build/Release/headkv.node | grep -q 'make_cuda_runtime' || {
  echo "pack.sh: native/build/Release/headkv.node has no CUDA backend (build where nvcc is)" >&2
  exit 1
}
mkdir -p .device
# Node stripped and at xz's strongest preset (about 22 MB): the checkout and .device travel to
# the GPU machine together, under 64 MiB.
if ! { [ -f .device/node.xz ] && [ .device/node.xz -nt "$(command -v node)" ]; }; then
  cp "$(command -v node)" .device/node.stripped
  strip .device/node.stripped
  xz -T2 -9e -c .device/node.stripped > .device/node.xz
  rm .device/node.stripped
fi
xz -6 -c native/build/Release/headkv.node > .device/headkv.node.xz
tar cJf .device/js.tar.xz dist/libs/engine dist/libs/profiles dist/libs/suite dist/test/helpers dist/test/engine dist/tools/train dist/tools/option-value.js \
  dist/tools/bench/engine-throughput.js node_modules/@huggingface/jinja node_modules/@huggingface/tokenizers node_modules/zod
du -sh .device/*
