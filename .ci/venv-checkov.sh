# Sourced by ./test after .ci/venv.sh: checkov cannot share .venv (its pins conflict with Pulumi's;
# see requirements-checkov.txt), and ./plan does not need it, so it gets a virtualenv of its own.
# Exports CHECKOV for the scanner tests.
VENV_CHECKOV="${VENV_CHECKOV:-$PWD/.venv-checkov}"
ensure_venv "$VENV_CHECKOV" requirements-checkov.txt requirements-checkov.txt
export CHECKOV="$VENV_CHECKOV/bin/checkov"
