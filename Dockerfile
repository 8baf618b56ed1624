# One image for every process: the API (default CMD), the workers and the one-shot
# migrations (docker-compose.yml picks the command per service).
#
#   docker build -t shop-orders .

# --- build: all dependencies, TypeScript -> dist/ -------------------------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /app
# Dependencies first, so a source change does not reinstall them. No install scripts: no
# dependency needs one, and --ignore-scripts installs the same files (README, prerequisites).
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
# Exactly the folders tsconfig.build.json compiles (test/deploy checks the two agree).
COPY tsconfig.json tsconfig.build.json ./
COPY api ./api
COPY workers ./workers
COPY shared ./shared
COPY cli ./cli
# tsc directly: `npm run build` goes through scripts/node24, a bash wrapper this image has no
# use for (its Node is already 24).
RUN node_modules/.bin/tsc -p tsconfig.build.json

# --- runtime: production dependencies and compiled code only --------------------------------
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
# A capped heap keeps RSS near the working set (see cli/start.ts).
ENV NODE_OPTIONS="--max-old-space-size=160 --max-semi-space-size=8"
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force
# Only the product: the tools (bench, load runs, chaos suite) build from tsconfig.tools.json.
COPY --from=build /app/dist/api ./dist/api
COPY --from=build /app/dist/workers ./dist/workers
COPY --from=build /app/dist/shared ./dist/shared
COPY --from=build /app/dist/cli ./dist/cli
# Files stay owned by root: the process can read its code but not rewrite it.
USER node
# 3000: the API (PORT). 9100: a worker process's /metrics and /healthz (WORKER_METRICS_PORT).
EXPOSE 3000 9100
# Slim images have no curl; Node 24 has fetch. This targets the API; the workers service
# overrides it in docker-compose.yml to probe port 9100 instead.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/api/main.js"]
