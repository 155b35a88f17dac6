# syntax=docker/dockerfile:1
# Build: compile TypeScript, then keep only production dependencies.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the image already has Node 24; the node@24 devDependency is for bare machines.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

# Run: Node 24 LTS, non-root, node started directly so SIGTERM reaches the gateway.
FROM node:24-bookworm-slim
# /metrics (and a copy of /healthz, /readyz) on their own port, kept off the API port: expose 9090
# to the scraper only.
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    ADMIN_PORT=9090
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
# The example front-end the sandbox serves at /app/.
COPY --chown=node:node examples/front-end ./examples/front-end
USER node
EXPOSE 8080 9090
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--no-memory-reducer", "dist/main.js"]
