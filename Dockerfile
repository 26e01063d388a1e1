# syntax=docker/dockerfile:1
# The Switchboard server image (docs/image.md).
#   build  compiles the server with tsc (the server's dependencies plus the root dev tools)
#   deps   installs the server workspace's production dependencies only
#   final  node + server/dist + production node_modules, as uid 1000: `node server/dist/main.js`
# BASE_IMAGE is any image with node and npm on PATH, like the official node images: by default Node 24
# (the LTS line platform/versions.yaml pins); the server also runs on Node 20. CI pins it by digest,
# and the image test builds one from the host's node (pipeline/src/image/base.ts).
ARG BASE_IMAGE=docker.io/library/node:24-bookworm-slim

FROM ${BASE_IMAGE} AS build
# npm settings for the install steps only (a registry mirror, an offline cache); unset by default.
ARG NPM_CONFIG_REGISTRY
ARG NPM_CONFIG_PREFER_OFFLINE
WORKDIR /app
# Only the server workspace and the root: npm ci installs exactly what the lockfile says for them,
# and the other workspaces (tests, actions, load tests) never enter the image build.
COPY package.json package-lock.json tsconfig.base.json ./
COPY server/package.json server/tsconfig.build.json ./server/
# --ignore-scripts: no dependency's install script runs in the build; the server needs none.
RUN npm ci --ignore-scripts --no-audit --no-fund --workspace server --include-workspace-root
COPY server/src ./server/src
RUN npx --no-install tsc -p server/tsconfig.build.json

FROM ${BASE_IMAGE} AS deps
ARG NPM_CONFIG_REGISTRY
ARG NPM_CONFIG_PREFER_OFFLINE
WORKDIR /app
COPY package.json package-lock.json ./
COPY server/package.json ./server/
RUN npm ci --ignore-scripts --no-audit --no-fund --omit=dev --workspace server

FROM ${BASE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY server/package.json ./server/
COPY server/public ./server/public
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/server/dist ./server/dist
# The commit this image was built from (build-image passes it): the revision label of switchboard_build_info.
ARG REVISION=unknown
ENV SWITCHBOARD_REVISION=${REVISION}
# Numeric, so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 1000:1000
# 4000: WebSockets and the API; 9464: /metrics and the probes (METRICS_PORT).
EXPOSE 4000 9464
STOPSIGNAL SIGTERM
# Exec form: node is PID 1 and receives SIGTERM itself; main.ts handles it (drain, then exit 0).
# The server starts no child processes, so there are no zombies to reap and no init is needed.
CMD ["node", "server/dist/main.js"]
