# syntax=docker/dockerfile:1
#
# Tessera's production image: the compiled app on Node 24 with production
# dependencies only (no embedded PostgreSQL: production needs DATABASE_URL),
# run as the unprivileged `node` user with the memory settings `npm start`
# uses (README, "Production"). Migrations are a release step, not part of
# the server's start: `docker compose run --rm migrate` (compose.yaml).

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN node ace build

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3333 \
    MALLOC_ARENA_MAX=1
WORKDIR /app
COPY --from=build /src/build/package.json /src/build/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/build ./
USER node
EXPOSE 3333
STOPSIGNAL SIGTERM
CMD ["node", "--max-semi-space-size=8", "bin/server.js"]
