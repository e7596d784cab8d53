# Sourced by ./plan and ./test: creates a virtualenv on first use and keeps it in step with the
# requirements files it was built from, so both commands work on a fresh clone.

# ensure_venv DIR REQUIREMENTS STAMPED_FILE...: DIR holds REQUIREMENTS installed, rebuilt when
# any STAMPED_FILE changes.
ensure_venv() {
  local dir="$1" requirements="$2"
  shift 2
  local stamp="$dir/.requirements.sha256" wanted
  wanted="$(cat "$@" | sha256sum | cut -d' ' -f1)"
  if [ ! -x "$dir/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "Setting up $dir (first run only)..." >&2
    python3 -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --upgrade pip >&2
    "$dir/bin/python" -m pip install --quiet -r "$requirements" >&2
    echo "$wanted" > "$stamp"
  fi
}

VENV="${VENV:-$PWD/.venv}"
ensure_venv "$VENV" requirements-dev.txt requirements.txt requirements-dev.txt components/pyproject.toml
export VENV
