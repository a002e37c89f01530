#!/usr/bin/env bash
# Vendor the door app's QR decoder (jsQR, Apache-2.0) from the npm registry into static/vendor/.
# Pinned by version and checksum; re-running it with the files in place does nothing.
# The door page loads it from our own static folder: no CDN at run time.
set -euo pipefail

NAME=jsqr
VERSION=1.4.0
SHA1=8efb8d0a7cc6863cb6d95116b9069123ce9eb2d1  # dist.shasum of jsqr@1.4.0 on the registry
TARBALL="https://registry.npmjs.org/${NAME}/-/${NAME}-${VERSION}.tgz"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${ROOT}/static/vendor/${NAME}"

if [[ -f "${DEST}/VERSION" && -f "${DEST}/dist/jsQR.js" && -f "${DEST}/LICENSE" ]] \
   && grep -qx "${NAME}@${VERSION}" <(head -n 1 "${DEST}/VERSION"); then
  echo "${NAME} ${VERSION} already vendored in ${DEST#"${ROOT}"/}"
  exit 0
fi

WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT
curl --fail --silent --show-error --location --retry 3 -o "${WORK}/pkg.tgz" "${TARBALL}"
echo "${SHA1}  ${WORK}/pkg.tgz" | sha1sum --check --quiet
tar -xzf "${WORK}/pkg.tgz" -C "${WORK}"

rm -rf "${DEST}"
mkdir -p "${DEST}/dist"
cp "${WORK}/package/dist/jsQR.js" "${DEST}/dist/jsQR.js"
cp "${WORK}/package/LICENSE" "${DEST}/LICENSE"
cat > "${DEST}/VERSION" <<NOTE
${NAME}@${VERSION}
source: ${TARBALL}
sha1: ${SHA1}
licence: Apache-2.0 (see LICENSE)
files: dist/jsQR.js (UMD build, exposes window.jsQR), LICENSE
vendored by scripts/vendor.sh; do not edit by hand.
NOTE
echo "vendored ${NAME} ${VERSION} into ${DEST#"${ROOT}"/}"
