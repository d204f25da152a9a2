# syntax=docker/dockerfile:1
# Airbyte source for Pipedrive. Build:  docker build -t airbyte/source-pipedrive-ts:dev .
# Keep io.airbyte.version equal to package.json "version" and metadata.yaml dockerImageTag
# (test/docker.test.ts checks it).

ARG NODE_IMAGE=node:22-alpine

# --- Build: compile TypeScript, pack the npm package (only the files package.json "files"
# --- lists), then install its production dependencies from the lockfile.
FROM ${NODE_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY resources ./resources
COPY src ./src
RUN npm run build \
 && npm pack --ignore-scripts --pack-destination /tmp \
 && tar -xzf /tmp/source-pipedrive-*.tgz -C /tmp \
 && cp package-lock.json /tmp/package/ \
 && cd /tmp/package \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm package-lock.json

# --- Runtime: the packed connector and its production dependencies, nothing else.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /airbyte/integration_code
# Owned by root, read-only for the user that runs the connector.
COPY --from=build /tmp/package/ ./
USER node
ENV AIRBYTE_ENTRYPOINT="node /airbyte/integration_code/bin/main"
ENTRYPOINT ["node", "/airbyte/integration_code/bin/main"]
LABEL io.airbyte.name="airbyte/source-pipedrive-ts"
LABEL io.airbyte.version="0.1.0"
