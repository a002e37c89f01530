#!/usr/bin/env bash
# Fetch the CJK typeface the share posters are drawn with (Noto Sans Hans, SIL OFL 1.1, from
# the npm package @embedpdf/fonts-sc) into planner/pictures/fonts/. Pinned by version and
# checksum; `make install` runs it, and re-running it with the files in place does nothing.
# The files are 8 MB each, so they are fetched, not committed (.gitignore).
set -euo pipefail

VERSION=1.0.0
SHA256=589e6a5f2168430b4ae5a46bfdc4606f1798f5c06be5a2369ab89f75b804a0ad
TARBALL="https://registry.npmjs.org/@embedpdf/fonts-sc/-/fonts-sc-${VERSION}.tgz"
FILES=(NotoSansHans-Medium.otf NotoSansHans-Bold.otf)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${ROOT}/planner/pictures/fonts"

fetched_already() {
  grep -qx "@embedpdf/fonts-sc@${VERSION}" "${DEST}/VERSION" 2>/dev/null || return 1
  for f in "${FILES[@]}"; do [[ -f "${DEST}/${f}" ]] || return 1; done
}
fetched_already && exit 0

WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT
curl --fail --silent --show-error --location --retry 3 -o "${WORK}/pkg.tgz" "${TARBALL}"
echo "${SHA256}  ${WORK}/pkg.tgz" | sha256sum --check --quiet
tar -xzf "${WORK}/pkg.tgz" -C "${WORK}"
mkdir -p "${DEST}"
for f in "${FILES[@]}"; do cp "${WORK}/package/fonts/${f}" "${DEST}/${f}"; done
cp "${WORK}/package/LICENSE" "${DEST}/LICENSE"
printf '@embedpdf/fonts-sc@%s\nsource: %s\nsha256: %s\nlicence: SIL OFL 1.1 (see LICENSE)\n' \
  "${VERSION}" "${TARBALL}" "${SHA256}" > "${DEST}/VERSION"
echo "fetched Noto Sans Hans into ${DEST#"${ROOT}"/}"
