# Sourced by ./plan and ./test: creates .venv on first use and keeps it in step with the
# requirements files, so both commands work on a fresh clone.
VENV="${VENV:-$PWD/.venv}"
stamp="$VENV/.requirements.sha256"
wanted="$(cat requirements.txt requirements-dev.txt components/pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "Setting up $VENV (first run only)..." >&2
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
  "$VENV/bin/python" -m pip install --quiet -r requirements-dev.txt >&2
  echo "$wanted" > "$stamp"
fi
export VENV
