# Sourced by ./test: creates .venv-checkov on first use and keeps it in step with
# requirements-checkov.txt. checkov cannot share .venv (see that file), and ./plan does not need
# it, so it has a virtualenv and a script of its own. Exports CHECKOV for the scanner tests.
VENV_CHECKOV="${VENV_CHECKOV:-$PWD/.venv-checkov}"
checkov_stamp="$VENV_CHECKOV/.requirements.sha256"
checkov_wanted="$(sha256sum < requirements-checkov.txt | cut -d' ' -f1)"
if [ ! -x "$VENV_CHECKOV/bin/checkov" ] || [ "$(cat "$checkov_stamp" 2>/dev/null)" != "$checkov_wanted" ]; then
  echo "Setting up $VENV_CHECKOV (first run only)..." >&2
  python3 -m venv "$VENV_CHECKOV"
  "$VENV_CHECKOV/bin/python" -m pip install --quiet --upgrade pip >&2
  "$VENV_CHECKOV/bin/python" -m pip install --quiet -r requirements-checkov.txt >&2
  echo "$checkov_wanted" > "$checkov_stamp"
fi
export CHECKOV="$VENV_CHECKOV/bin/checkov"
