# syntax=docker/dockerfile:1.7
# HeadKV GPU worker: one engine per container, one GPU per container. Build from the repository
# root, naming the GPUs of your node pool as CUDA compute capabilities:
#   docker build -f deploy/docker/worker.Dockerfile --build-arg CUDA_ARCHITECTURES="90" -t headkv-worker .
# Base images are pinned to exact releases; pin them to digests too in your registry mirror
# (docs/deploy.md, "Pinning images").
ARG NODE_IMAGE=node:20.20.2-bookworm-slim
ARG CUDA_DEVEL_IMAGE=nvidia/cuda:12.6.3-devel-ubuntu22.04
ARG CUDA_RUNTIME_IMAGE=nvidia/cuda:12.6.3-runtime-ubuntu22.04

# Node.js comes from the official image: its binaries are built for an older glibc than Ubuntu
# 22.04's, so they run unchanged on the CUDA images.
FROM ${NODE_IMAGE} AS node

FROM ${CUDA_DEVEL_IMAGE} AS build
# 80 = A100, 86 = A10G/RTX A6000, 89 = L4/L40S, 90 = H100/H200.
ARG CUDA_ARCHITECTURES="80;86;89;90"
# CUDAARCHS is CMake's standard default for CMAKE_CUDA_ARCHITECTURES. HEADKV_CUDA=ON: the addon
# build (native/build-addon.js) compiles the CUDA backend with CMake and fails rather than fall
# back to a CPU-only addon; HEADKV_NATIVE_ARCH=OFF: no -march=native for the build host's CPU.
ENV CUDAARCHS=${CUDA_ARCHITECTURES} \
    CXXFLAGS="-march=x86-64-v3" \
    HEADKV_CUDA=ON \
    HEADKV_NATIVE_ARCH=OFF
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.npm npm ci \
    && npm run build:native \
    && npm run build:ts \
    && npm prune --omit=dev

FROM ${CUDA_RUNTIME_IMAGE} AS runtime
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN groupadd --gid 10001 headkv \
    && useradd --uid 10001 --gid headkv --no-create-home --shell /usr/sbin/nologin headkv
ENV NODE_ENV=production \
    HEADKV_DEVICE=cuda \
    HEADKV_MODEL_DIR=/models/model \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
WORKDIR /app
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/libs ./libs
COPY --from=build /src/dist ./dist
COPY --from=build /src/native/build/Release/headkv.node ./native/build/Release/headkv.node
USER 10001:10001
# The worker serves no HTTP port, so the check is process-level: PID 1 must be the worker and
# neither stopped (T) nor a zombie (Z). Queue liveness is the coordinator's heartbeat view.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["node", "-e", "const s = require('fs').readFileSync('/proc/1/stat', 'utf8'); const state = s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3); process.exit(/[RSD]/.test(state) && s.includes('(node)') ? 0 : 1)"]
# SIGTERM starts the worker's graceful drain (stop taking jobs, finish or hand back running ones).
STOPSIGNAL SIGTERM
CMD ["node", "dist/apps/worker/src/main.js"]
