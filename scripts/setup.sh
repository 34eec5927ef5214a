#!/usr/bin/env bash
# Installs everything the generator and its tests need on a fresh machine:
# the npm packages, and uv (from PyPI) in a private virtualenv under .tools/.
set -euo pipefail
cd "$(dirname "$0")/.."

npm ci --no-audit --no-fund

if [ ! -x .tools/python/bin/uv ]; then
  python3 -m venv .tools/python
  .tools/python/bin/pip install --quiet --disable-pip-version-check uv
fi
.tools/python/bin/uv --version
