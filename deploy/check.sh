#!/usr/bin/env bash
# `make check-deploy`: prove deploy/ is valid without an AWS account.
#   1. terraform fmt on the modules, and the same formatter over every Terragrunt file;
#   2. per module: terraform init (no backend), validate, and test (mocked AWS provider);
#   3. checkov over deploy/ (every skip carries its reason in the code);
#   4. pytest tests/deploy: the Terragrunt units parse and wire up to real modules.
# Providers come from a local filesystem mirror when one exists (TF_PLUGIN_MIRROR,
# default /opt/tf-plugins), else from the registry. Everything generated goes to
# .cache/ (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=$ROOT/.cache/deploy
TOOLS_VENV=$ROOT/.cache/deploy-tools
REQUIREMENTS=deploy/tools/requirements.txt
MIRROR=${TF_PLUGIN_MIRROR:-/opt/tf-plugins}
UV=${UV:-$ROOT/.tools/bin/uv}
HATCH=${HATCH:-$ROOT/.tools/bin/hatch}

step() { printf '\n--> %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
fail() { printf 'check-deploy: %s\n' "$*" >&2; exit 1; }

command -v terraform >/dev/null || fail "terraform (>= 1.6) is not on PATH; install it from your package manager or hashicorp.com"
mkdir -p "$CACHE/plugin-cache" "$CACHE/tf-data"

export TF_CLI_CONFIG_FILE=$CACHE/terraform.rc TF_IN_AUTOMATION=1 TF_INPUT=0
if [ -d "$MIRROR" ]; then
  cat >"$TF_CLI_CONFIG_FILE" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
plugin_cache_dir = "$CACHE/plugin-cache"
RC
else
  printf 'plugin_cache_dir = "%s"\n' "$CACHE/plugin-cache" >"$TF_CLI_CONFIG_FILE"
fi

step "terraform $(terraform version | head -1 | cut -d' ' -f2) fmt"
terraform fmt -check -recursive -diff deploy/ || fail "run: terraform fmt -recursive deploy/"
# terraform fmt skips *.hcl; the same formatter reads Terragrunt files from stdin.
unformatted=0
while IFS= read -r -d '' file; do
  # shellcheck disable=SC2094 # both sides of the pipe only read the file
  if ! terraform fmt -no-color - <"$file" | diff -u --label "$file" --label "$file (formatted)" "$file" -; then
    unformatted=1
  fi
done < <(find deploy/live -name '*.hcl' -print0 | sort -z)
[ "$unformatted" = 0 ] || fail "Terragrunt files above are not formatted (terragrunt hcl fmt, or terraform fmt - < file)"

for module in deploy/modules/*/ deploy/examples/*/; do
  step "$module: init, validate, test"
  export TF_DATA_DIR=$CACHE/tf-data/${module//\//_}
  log=$CACHE/${module//\//_}init.log
  terraform -chdir="$module" init -backend=false -input=false -no-color >"$log" 2>&1 || { cat "$log"; fail "terraform init failed in $module"; }
  terraform -chdir="$module" validate -no-color
  terraform -chdir="$module" test -no-color
done
unset TF_DATA_DIR

step "checkov (pinned in $REQUIREMENTS)"
if ! cmp -s "$REQUIREMENTS" "$TOOLS_VENV/.requirements.txt" 2>/dev/null; then
  rm -rf "$TOOLS_VENV"
  if [ -x "$UV" ]; then
    "$UV" venv --quiet --python 3.11 "$TOOLS_VENV"
    VIRTUAL_ENV=$TOOLS_VENV "$UV" pip install --quiet -r "$REQUIREMENTS"
  else
    python3 -m venv "$TOOLS_VENV"
    "$TOOLS_VENV/bin/pip" install --quiet -r "$REQUIREMENTS"
  fi
  cp "$REQUIREMENTS" "$TOOLS_VENV/.requirements.txt"
fi
BC_SKIP_MAPPING=TRUE "$TOOLS_VENV/bin/checkov" -d deploy --framework terraform --skip-download --quiet --compact

step "pytest tests/deploy (Terragrunt units)"
if [ -x "$HATCH" ]; then
  "$HATCH" run pytest -q tests/deploy
else
  "$ROOT/.venv/bin/pytest" -q tests/deploy
fi
