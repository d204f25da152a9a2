# Airbyte source for Pipedrive. Build:  docker build -t source-pipedrive:0.2.0 .
# Keep io.airbyte.version equal to package.json "version" and metadata.yaml dockerImageTag
# (test/docker.test.ts checks it). No `# syntax=` line: it makes BuildKit pull a frontend image,
# which breaks air-gapped builds, and nothing here needs a newer Dockerfile syntax.

# A pinned minor (patches of Node 22.23 on Alpine 3.24 only), so a rebuild cannot change Node's
# or Alpine's minor version underneath a release. npm run test:image passes a local stand-in.
ARG NODE_IMAGE=node:22.23-alpine3.24

# --- Build: compile TypeScript, pack the npm package (only the files package.json "files"
# --- lists), then install its production dependencies from the lockfile.
FROM ${NODE_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
# No install scripts: compiling with tsc needs none, and third-party scripts stay out of the build.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
# npm pack puts LICENSE into the package, so the image carries it (Apache-2.0 §4(a)).
COPY LICENSE ./
COPY bin ./bin
COPY resources ./resources
COPY src ./src
# --omit=optional as well as dev: typescript is a devDependency and also an optional peer of
# faros-js-client → ts-essentials, so the lockfile marks it devOptional and --omit=dev alone
# installs it (23 MB nothing runs). No production dependency is optional (test/docker.test.ts
# checks the lockfile). The last line fails the build if typescript comes back by another path.
RUN npm run build \
 && npm pack --ignore-scripts --pack-destination /tmp \
 && tar -xzf /tmp/source-pipedrive-*.tgz -C /tmp \
 && cp package-lock.json /tmp/package/ \
 && cd /tmp/package \
 && npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
 && rm package-lock.json \
 && if [ -e node_modules/typescript ]; then echo "typescript is in the production install" >&2; exit 1; fi

# --- Runtime: the packed connector and its production dependencies, nothing else.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /airbyte/integration_code
# Owned by root, read-only for the user that runs the connector.
COPY --from=build /tmp/package/ ./
USER node
ENV AIRBYTE_ENTRYPOINT="node /airbyte/integration_code/bin/main"
ENTRYPOINT ["node", "/airbyte/integration_code/bin/main"]
LABEL io.airbyte.name="source-pipedrive"
LABEL io.airbyte.version="0.2.0"
