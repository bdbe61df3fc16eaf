#!/usr/bin/env bash
# gatewatch remediation actions: the only commands gatewatch ever runs to repair a host.
#
# Runs locally under bash (gatewatch's ShellRemediationRunner) and in AWS as the body of gatewatch's
# second SSM Command document (lib/constructs/remediation-document.ts). It does one of a closed set of
# actions:
#   restart-service  systemctl restart -- UNIT | docker restart NAME | pm2 restart NAME
#   reload-nginx     nginx -t, and only when it passes: nginx -s reload
#
# Parameters come only from GW_* environment variables, validated again here with the patterns of
# lambdas/core/remediation/params.ts (a test keeps them equal). Their values come from gatewatch.yaml
# (the service hint, nginx paths), never from a log line or an event. An invalid value is refused
# before anything runs. Values reach commands only as single, quoted arguments; no eval, no sh -c.
#
# Output (stdout): `#gw command <what runs>` for each command, the commands' output with every line
# prefixed by `|` (so no output can forge a `#gw` line), and one last line
# `#gw result ok|failed|refused|dry-run <status> [<reason, percent-encoded>]`.

if [ -z "${BASH_VERSION:-}" ]; then
  echo 'gatewatch-remediate.sh needs bash: run it as "bash gatewatch-remediate.sh"' >&2
  exit 2
fi

set -u
export LC_ALL=C TZ=UTC
unset BASH_ENV ENV CDPATH GLOBIGNORE
IFS=$' \t\n'
# Functions imported from the environment could stand in for the commands below.
while read -r _ _ gw_fn; do unset -f "$gw_fn"; done < <(declare -F)
unset gw_fn

readonly GW_PATTERN_ACTION='^(restart-service|reload-nginx)$'
readonly GW_PATTERN_SERVICE_KIND='^(systemd|docker|pm2)$'
readonly GW_PATTERN_SERVICE_NAME='^[A-Za-z0-9][A-Za-z0-9@._:-]{0,127}$'
readonly GW_PATTERN_NGINX_BIN='^(nginx|(/[.]?[A-Za-z0-9_+@-][A-Za-z0-9._+@-]*)+)$'
readonly GW_PATTERN_ABSOLUTE_PATH='^(/[.]?[A-Za-z0-9_+@-][A-Za-z0-9._+@-]*)+/?$'
readonly GW_PATTERN_DRY_RUN='^(0|1)$'
readonly GW_PATTERN_ACTION_TIMEOUT='^([1-9]|[1-9][0-9]|[12][0-9]{2}|300)$'
readonly GW_PATTERN_OUTPUT_CAP='^(104857[0-6]|10485[0-6][0-9]|1048[0-4][0-9]{2}|104[0-7][0-9]{3}|10[0-3][0-9]{4}|[1-9][0-9]{4,5}|[2-9][0-9]{3}|1[1-9][0-9]{2}|10[3-9][0-9]|102[4-9])$'
readonly GW_MAX_PATH_LENGTH=4096

# Percent-encodes everything but [A-Za-z0-9._~/-].
gw_urlencode() {
  local s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
    [A-Za-z0-9._~/-]) out+=$c ;;
    *)
      printf -v c '%%%02X' "'$c"
      out+=${c: -3}
      ;;
    esac
  done
  printf '%s' "$out"
}

gw_result() {
  # $1 outcome, $2 status, $3 reason (optional)
  if [[ -n ${3:-} ]]; then
    printf '#gw result %s %s %s\n' "$1" "$2" "$(gw_urlencode "$3")"
  else
    printf '#gw result %s %s\n' "$1" "$2"
  fi
}

gw_refuse() {
  gw_result refused 2 "$1"
  exit 2
}

# gw_param NAME PATTERN required|optional
gw_param() {
  local name=$1 pattern=$2 need=$3 value
  value=${!name-}
  if [[ -z $value ]]; then
    [[ $need == optional ]] || gw_refuse "$name is required"
    return 0
  fi
  ((${#value} <= GW_MAX_PATH_LENGTH)) || gw_refuse "$name is longer than $GW_MAX_PATH_LENGTH characters"
  [[ $value =~ $pattern ]] || gw_refuse "$name does not match $pattern"
}

gw_param GW_ACTION "$GW_PATTERN_ACTION" required
gw_param GW_DRY_RUN "$GW_PATTERN_DRY_RUN" optional
gw_param GW_ACTION_TIMEOUT "$GW_PATTERN_ACTION_TIMEOUT" optional
gw_param GW_OUTPUT_CAP "$GW_PATTERN_OUTPUT_CAP" optional
gw_param GW_NGINX_BIN "$GW_PATTERN_NGINX_BIN" optional
gw_param GW_NGINX_CONF "$GW_PATTERN_ABSOLUTE_PATH" optional
gw_param GW_NGINX_PREFIX "$GW_PATTERN_ABSOLUTE_PATH" optional
if [[ $GW_ACTION == restart-service ]]; then
  gw_param GW_SERVICE_KIND "$GW_PATTERN_SERVICE_KIND" required
  gw_param GW_SERVICE_NAME "$GW_PATTERN_SERVICE_NAME" required
fi
gw_dry=${GW_DRY_RUN:-0}
gw_timeout=${GW_ACTION_TIMEOUT:-60}
gw_cap=${GW_OUTPUT_CAP:-16384}

# Prints the command as it will run: its words, separated by spaces (every word passed its pattern).
gw_say() { printf '#gw command %s\n' "$*"; }

# Runs one command under a timeout, output capped and prefixed; returns its status.
gw_exec() {
  local status
  if command -v timeout >/dev/null 2>&1; then
    timeout -k 2 "$gw_timeout" "$@" </dev/null 2>&1 | head -c "$gw_cap" | awk '{ print "|" $0; fflush() }'
    status=${PIPESTATUS[0]}
  else
    "$@" </dev/null 2>&1 | head -c "$gw_cap" | awk '{ print "|" $0; fflush() }'
    status=${PIPESTATUS[0]}
  fi
  return "$status"
}

gw_need() { command -v "$1" >/dev/null 2>&1 || { gw_result failed 127 "$1 not found (PATH=${PATH:-})"; exit 1; }; }

gw_restart() {
  local cmd
  case $GW_SERVICE_KIND in
  systemd) cmd=(systemctl restart -- "$GW_SERVICE_NAME") ;;
  docker) cmd=(docker restart "$GW_SERVICE_NAME") ;;
  pm2) cmd=(pm2 restart "$GW_SERVICE_NAME") ;;
  esac
  gw_say "${cmd[@]}"
  if [[ $gw_dry == 1 ]]; then gw_result dry-run 0; exit 0; fi
  gw_need "${cmd[0]}"
  gw_exec "${cmd[@]}"
  local status=$?
  if ((status == 0)); then gw_result ok 0; exit 0; fi
  gw_result failed "$status" "${cmd[0]} exited with status $status"
  exit 1
}

gw_reload() {
  local nginx=("${GW_NGINX_BIN:-nginx}")
  [[ -z ${GW_NGINX_PREFIX:-} ]] || nginx+=(-p "$GW_NGINX_PREFIX")
  [[ -z ${GW_NGINX_CONF:-} ]] || nginx+=(-c "$GW_NGINX_CONF")
  gw_say "${nginx[@]}" -t
  gw_say "${nginx[@]}" -s reload
  if [[ $gw_dry == 1 ]]; then gw_result dry-run 0; exit 0; fi
  gw_need "${nginx[0]}"
  gw_exec "${nginx[@]}" -t
  local status=$?
  if ((status != 0)); then
    # Never reload a configuration nginx itself rejects: the running workers keep the last good one.
    gw_result refused "$status" "nginx -t failed (status $status): not reloading"
    exit 1
  fi
  gw_exec "${nginx[@]}" -s reload
  status=$?
  if ((status == 0)); then gw_result ok 0; exit 0; fi
  gw_result failed "$status" "nginx -s reload exited with status $status"
  exit 1
}

case $GW_ACTION in
restart-service) gw_restart ;;
reload-nginx) gw_reload ;;
esac
