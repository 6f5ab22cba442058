# syntax=docker/dockerfile:1.7
# HeadKV coordinator: the OpenAI-compatible Batch API. Build from the repository root:
#   docker build -f deploy/docker/coordinator.Dockerfile -t headkv-coordinator .
# Base images are pinned to exact releases; pin them to digests too in your registry mirror
# (docs/deploy.md, "Pinning images").
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
# node-gyp needs python3, make and a C++17 compiler for the engine addon.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The addon is compiled for the x86-64-v3 baseline (AVX2), not the build host's CPU, so the image
# runs on every node of the pool.
ENV CXXFLAGS="-march=x86-64-v3"
RUN --mount=type=cache,target=/root/.npm npm ci \
    && npm run build:native \
    && npm run build:ts \
    && npm prune --omit=dev

FROM ${NODE_IMAGE} AS runtime
# HOST: the coordinator binds 127.0.0.1 by default, unreachable from outside a container.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
# Workspace symlinks in node_modules point at libs/*, whose package.json files point into dist/.
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/libs ./libs
COPY --from=build /src/dist ./dist
# The dashboard's page files are served from the source tree (they are not compiled).
COPY --from=build /src/apps/coordinator/src/dashboard/public ./apps/coordinator/src/dashboard/public
COPY --from=build /src/bin ./bin
COPY --from=build /src/native/build/Release/headkv.node ./native/build/Release/headkv.node
# Batch files of the local storage adapter (HEADKV_STORAGE_DIR); a volume mounted here inherits the
# owner, so the unprivileged user can write it. The official Node image ships that user, "node"
# (uid 1000).
RUN mkdir -p /app/data/files && chown -R 1000:1000 /app/data
USER 1000:1000
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/apps/coordinator/src/main.js"]
