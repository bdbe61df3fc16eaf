#!/usr/bin/env bash
# gatewatch on-host diagnostics: what an operator runs during a 502/504 incident, read-only.
#
# Runs locally under bash (gatewatch's ShellCommandRunner) and in AWS as the body of gatewatch's SSM
# Command document. It never writes, kills, restarts, starts or installs anything: every check only
# reads (ss, ps, /proc, stat, id, df, systemctl show, journalctl, docker inspect/logs, pm2 jlist/logs when
# a pm2 daemon already runs, nginx -t/-T, dmesg, iptables-save, nft list). Note that `nginx -t` and
# `nginx -T` open the log files the configuration names, as nginx itself does.
#
# Parameters come only from GW_* environment variables, validated again here with the patterns of
# lambdas/core/diagnostics/params.ts (a test keeps them equal). An invalid value prints a `params` block
# naming the variable and exits 2 before any check runs.
#
# Output (stdout): a START header with a random per-run nonce, then one BEGIN/END frame per check, then
# DONE. The checks run side by side; each frame is printed whole, in the order the checks were asked
# for, and its `ms` is the check's own run time. Inside a frame every line of the check's output is
# prefixed with `|`, so no text from a process name, a log line or a config file can start a line with
# `@@GATEWATCH`, and the nonce is never exported, never on a command line, so a process cannot learn it.
# Lines the script itself writes inside a check start with `#gw `; command output lines that happen to
# start with `#gw` get a leading space.
#
# No here-documents or here-strings (older bash writes them to temporary files), no temporary files,
# no redirection to anything but /dev/null.

# Plain POSIX so that sh reaches it before any bash syntax.
if [ -z "${BASH_VERSION:-}" ]; then
  echo 'gatewatch-diagnostics.sh needs bash: run it as "bash gatewatch-diagnostics.sh"' >&2
  exit 2
fi

set -u
export LC_ALL=C TZ=UTC
unset BASH_ENV ENV CDPATH GLOBIGNORE gw_nonce
IFS=$' \t\n'
# Functions imported from the environment could stand in for the commands below.
while read -r _ _ gw_fn; do unset -f "$gw_fn"; done < <(declare -F)
unset gw_fn

readonly GW_PATTERN_CHECKS='^(listen|service|nginx-test|nginx-config|sockets|disk|memory|fds|oom|firewall)(,(listen|service|nginx-test|nginx-config|sockets|disk|memory|fds|oom|firewall))*$'
readonly GW_PATTERN_NGINX_BIN='^(nginx|(/[.]?[A-Za-z0-9_+@-][A-Za-z0-9._+@-]*)+)$'
readonly GW_PATTERN_ABSOLUTE_PATH='^(/[.]?[A-Za-z0-9_+@-][A-Za-z0-9._+@-]*)+/?$'
readonly GW_PATTERN_SERVICE_KIND='^(process|systemd|docker|pm2)$'
readonly GW_PATTERN_SYSTEMD_UNIT='^[A-Za-z0-9@._:-]{1,128}$'
readonly GW_PATTERN_CONTAINER_NAME='^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$'
readonly GW_PATTERN_PROCESS_FRAGMENT='^[A-Za-z0-9 ._/:=,@+-]{1,128}$'
readonly GW_PATTERN_PORTS='^(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})(,(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})){0,63}$'
readonly GW_PATTERN_SINCE_MINUTES='^(10080|100[0-7][0-9]|[1-9][0-9]{0,3})$'
readonly GW_PATTERN_CHECK_TIMEOUT='^([1-9]|[1-5][0-9]|60)$'
readonly GW_PATTERN_OUTPUT_CAP='^(104857[0-6]|10485[0-6][0-9]|1048[0-4][0-9]{2}|104[0-7][0-9]{3}|10[0-3][0-9]{4}|[1-9][0-9]{4,5}|[2-9][0-9]{3}|1[1-9][0-9]{2}|10[3-9][0-9]|102[4-9])$'
readonly GW_PATTERN_WORKER_USER='^[A-Za-z_][A-Za-z0-9_.-]{0,31}[$]?$'
readonly GW_MAX_PATH_LENGTH=4096
readonly GW_KILL_AFTER=2
export GW_PATTERN_ABSOLUTE_PATH GW_PATTERN_WORKER_USER GW_MAX_PATH_LENGTH

# Status codes a check's shell exits with; anything else (124/137: timed out) is an error.
readonly GW_RC_FAILED=10 GW_RC_SKIPPED=11
export GW_RC_FAILED GW_RC_SKIPPED

# ---------------------------------------------------------------- helpers (exported to each check)

# Percent-encodes everything but [A-Za-z0-9._~/-] (byte-wise: LC_ALL=C).
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

# Command output must not be mistaken for the script's own `#gw` lines. Line by line, flushed, so a
# check stopped at its timeout keeps what its commands printed until then.
gw_escape() {
  # shellcheck disable=SC2086 # GW_AWK_LIVE is empty or two words
  awk $GW_AWK_LIVE '{ if (/^#gw/) print " " $0; else print; fflush() }'
}

# Runs a command, stderr with stdout, escaped; returns the command's status.
gw_run() {
  "$@" 2>&1 | gw_escape
  return "${PIPESTATUS[0]}"
}

# Prints text held in a variable, escaped as gw_escape does, without a fork (a variable holds no NUL).
gw_print() {
  [[ -n $1 ]] || return 0
  local s=$'\n'$1
  s=${s//$'\n#gw'/$'\n #gw'}
  printf '%s\n' "${s:1}"
}

gw_first_line() {
  local s=${1#$'\n'}
  s=${s%%$'\n'*}
  printf '%s' "${s:0:300}"
}

# The last line of a check's output says why it ended as it did (see gw_run_check).
gw_reason() { printf '#gw reason %s\n' "$(gw_urlencode "$1")"; }
gw_skip() {
  gw_reason "$1"
  exit "$GW_RC_SKIPPED"
}
gw_fail() {
  gw_reason "$1"
  exit "$GW_RC_FAILED"
}

gw_need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || gw_skip "$tool not found (PATH=${PATH:-})"
  done
}

gw_denied() { [[ $1 =~ [Pp]ermission\ denied|[Oo]peration\ not\ permitted|must\ be\ root|[Aa]ccess\ denied|EPERM|EACCES ]]; }

gw_nginx() {
  local args=()
  [[ -z ${GW_NGINX_PREFIX:-} ]] || args+=(-p "$GW_NGINX_PREFIX")
  [[ -z ${GW_NGINX_CONF:-} ]] || args+=(-c "$GW_NGINX_CONF")
  "$GW_NGINX_BIN" "$@" ${args[@]+"${args[@]}"}
}

gw_need_nginx() {
  if [[ $GW_NGINX_BIN == /* ]]; then
    [[ -x $GW_NGINX_BIN ]] || gw_skip "nginx binary $GW_NGINX_BIN is missing or not executable"
  else
    command -v "$GW_NGINX_BIN" >/dev/null 2>&1 || gw_skip "nginx not found (PATH=${PATH:-})"
  fi
}

# True when a pid is this script or one of its descendants, or another run of gatewatch's diagnostics
# (two diagnoses at once): pgrep must not take gatewatch itself for the service. With a second argument
# `descendants`, only this run counts (builtins only, no fork): the checks run side by side, and another
# check's `nginx -t` is no nginx of the host.
gw_is_own() {
  local pid=$1 depth=0 line ppid cmd
  while ((pid > 1 && depth < 64)); do
    ((pid == GW_MAIN_PID)) && return 0
    if [[ ${2:-} != descendants ]]; then
      cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || cmd=''
      [[ $cmd == *gatewatch-diagnostics* ]] && return 0
    fi
    [[ -r /proc/$pid/status ]] || return 1
    ppid=''
    while IFS= read -r line; do
      if [[ $line == PPid:* ]]; then
        ppid=${line#PPid:}
        break
      fi
    done <"/proc/$pid/status"
    ppid=${ppid//[!0-9]/}
    [[ -n $ppid ]] || return 1
    pid=$ppid
    depth=$((depth + 1))
  done
  return 1
}

gw_pm2_home() { printf '%s' "${PM2_HOME:-${HOME:+$HOME/.pm2}}"; }

# Reads `pm2 jlist` on stdin; prints one `#gw pm2 …` line per instance of the app GW_SERVICE_NAME.
# The name comes from the environment, never spliced into the code.
GW_PM2_FILTER='let s="";process.stdin.on("data",(d)=>{s+=d}).on("end",()=>{let list=null;for(const l of s.split("\n").reverse()){if(!l.trim().startsWith("[{")&&l.trim()!=="[]")continue;try{list=JSON.parse(l);break}catch{}}if(!Array.isArray(list))process.exit(3);const n=(v)=>Number.isFinite(Number(v))?Math.trunc(Number(v)):0;for(const p of list){if(!p||p.name!==process.env.GW_SERVICE_NAME)continue;const e=p.pm2_env||{};console.log("#gw pm2 pid="+n(p.pid)+" status="+String(e.status||"unknown").replace(/[^a-z-]/g,"")+" restarts="+n(e.restart_time)+" unstable="+n(e.unstable_restarts)+" exit="+n(e.exit_code))}})'
export GW_PM2_FILTER

# The service's pids, one per line (at most 256), for the kinds that have them.
gw_service_pids() {
  local pid line cg file
  case ${GW_SERVICE_KIND:-} in
  process)
    command -v pgrep >/dev/null 2>&1 || return 0
    for pid in $(pgrep -f -- "$GW_PGREP_PATTERN" 2>/dev/null); do
      gw_is_own "$pid" || printf '%s\n' "$pid"
    done
    ;;
  systemd)
    command -v systemctl >/dev/null 2>&1 || return 0
    cg=''
    while IFS= read -r line; do
      case $line in
      MainPID=*) [[ ${line#MainPID=} =~ ^[1-9][0-9]*$ ]] && printf '%s\n' "${line#MainPID=}" ;;
      ControlGroup=*) cg=${line#ControlGroup=} ;;
      esac
    done < <(systemctl show -p MainPID -p ControlGroup -- "$GW_SERVICE_NAME" 2>/dev/null)
    if [[ $cg == /* && $cg != *..* ]]; then
      for file in "/sys/fs/cgroup$cg/cgroup.procs" "/sys/fs/cgroup/systemd$cg/cgroup.procs"; do
        if [[ -r $file ]]; then
          while IFS= read -r pid; do [[ $pid =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"; done <"$file"
          break
        fi
      done
    fi
    ;;
  docker)
    command -v docker >/dev/null 2>&1 || return 0
    pid=$(docker inspect --type container --format '{{.State.Pid}}' "$GW_SERVICE_NAME" 2>/dev/null)
    [[ $pid =~ ^[1-9][0-9]*$ ]] && printf '%s\n' "$pid"
    ;;
  pm2)
    command -v pm2 >/dev/null 2>&1 && command -v node >/dev/null 2>&1 || return 0
    [[ -S "$(gw_pm2_home)/rpc.sock" ]] || return 0
    while IFS= read -r line; do
      [[ $line =~ ^#gw\ pm2\ pid=([1-9][0-9]*)\  ]] && printf '%s\n' "${BASH_REMATCH[1]}"
    done < <(pm2 jlist 2>/dev/null | node -e "$GW_PM2_FILTER" 2>/dev/null)
    ;;
  esac | awk '!seen[$0]++' | head -n 256
}

gw_describe_pid() {
  local pid=$1 comm='' cmd=''
  [[ -r /proc/$pid/comm ]] && gw_read_comm "$pid"
  [[ -r /proc/$pid/cmdline ]] && cmd=$(head -c 512 "/proc/$pid/cmdline" 2>/dev/null | tr '\000\n\r' '   ')
  printf '#gw pid %s comm=%s cmd=%s\n' "$pid" "$(gw_urlencode "${comm%$'\n'}")" "$(gw_urlencode "${cmd% }")"
}

# Keeps the `ss` entries that mention one of the pids. ss prints process names raw, so a name with a
# newline splits its entry: lines that do not start like an ss line are joined to the one before.
GW_SS_PIDS_FILTER='function flush() { if (entry != "" && entry ~ wanted) print entry; entry = "" }
/^(u_str|u_seq|u_dgr|[A-Z][A-Z-]*)[ \t]+([A-Z][A-Z-]*[ \t]+)?[0-9]+[ \t]+[0-9]+[ \t]/ { flush(); entry = $0; next }
{ entry = entry "\n" $0 }
END { flush() }'
export GW_SS_PIDS_FILTER

# The listening sockets held by the given pids, as `ss` prints them.
gw_listen_for_pids() {
  (($# > 0)) || return 0
  if ! command -v ss >/dev/null 2>&1; then
    gw_note listen "ss not found"
    return 0
  fi
  local wanted
  wanted=$(
    IFS='|'
    printf 'pid=(%s),' "$*"
  )
  printf '#gw section listen-tcp\n'
  ss -tlnpH 2>/dev/null | awk -v wanted="$wanted" "$GW_SS_PIDS_FILTER" | gw_escape
  printf '#gw section listen-unix\n'
  ss -xlpH 2>/dev/null | awk -v wanted="$wanted" "$GW_SS_PIDS_FILTER" | gw_escape
}

gw_note() { printf '#gw note %s=%s\n' "$1" "$(gw_urlencode "$2")"; }

# ---------------------------------------------------------------- checks

gw_check_listen() {
  gw_need ss
  local out rc port
  printf '#gw section tcp\n'
  out=$(ss -tlnpH 2>&1)
  rc=$?
  gw_print "$out"
  if ((rc != 0)); then
    gw_denied "$out" && gw_skip "ss -tlnpH not permitted: $(gw_first_line "$out")"
    gw_fail "ss -tlnpH exited $rc: $(gw_first_line "$out")"
  fi
  printf '#gw section unix\n'
  gw_run ss -xlpH
  if [[ -n ${GW_PORTS:-} ]]; then
    printf '#gw section connections\n'
    [[ -r /proc/sys/net/ipv4/ip_local_port_range ]] &&
      printf '#gw local-port-range %s\n' "$(tr -s '\t ' '  ' </proc/sys/net/ipv4/ip_local_port_range)"
    for port in ${GW_PORTS//,/ }; do
      ss -Htan "( sport = :$port or dport = :$port )" 2>/dev/null |
        awk -v port="$port" '$1 ~ /^[A-Z0-9-]+$/ { n[$1]++ } END { for (s in n) printf "#gw conn port=%s state=%s count=%d\n", port, s, n[s] }'
    done
  fi
  if ((EUID != 0)); then
    gw_reason "not root: sockets of other users' processes are listed without their process"
  fi
  exit 0
}

gw_check_service() {
  [[ -n ${GW_SERVICE_KIND:-} ]] || gw_skip "no service hint given (GW_SERVICE_KIND is empty)"
  printf '#gw service kind=%s name=%s\n' "$GW_SERVICE_KIND" "$(gw_urlencode "$GW_SERVICE_NAME")"
  case $GW_SERVICE_KIND in
  process) gw_service_process ;;
  systemd) gw_service_systemd ;;
  docker) gw_service_docker ;;
  pm2) gw_service_pm2 ;;
  esac
  exit 0
}

gw_service_process() {
  gw_need pgrep
  local pids=() pid
  while IFS= read -r pid; do pids+=("$pid"); done < <(gw_service_pids)
  for pid in ${pids[@]+"${pids[@]}"}; do gw_describe_pid "$pid"; done
  gw_listen_for_pids ${pids[@]+"${pids[@]}"}
  ((${#pids[@]} > 0)) || gw_fail "no process has '$GW_SERVICE_NAME' in its command line"
  exit 0
}

gw_service_systemd() {
  gw_need systemctl
  local show rc active='' pids=() pid
  show=$(systemctl show -p LoadState -p ActiveState -p SubState -p NRestarts -p MainPID -p ExecMainPID \
    -p ExecMainStatus -p ExecMainCode -p Result -- "$GW_SERVICE_NAME" 2>&1)
  rc=$?
  if ((rc != 0)); then
    gw_print "$show"
    gw_skip "systemctl show exited $rc: $(gw_first_line "$show")"
  fi
  printf '#gw section show\n'
  gw_print "$show"
  [[ $show =~ (^|$'\n')ActiveState=([a-z-]+) ]] && active=${BASH_REMATCH[2]}
  while IFS= read -r pid; do pids+=("$pid"); done < <(gw_service_pids)
  for pid in ${pids[@]+"${pids[@]}"}; do gw_describe_pid "$pid"; done
  gw_listen_for_pids ${pids[@]+"${pids[@]}"}
  if command -v journalctl >/dev/null 2>&1; then
    printf '#gw section journal\n'
    gw_run journalctl -q -u "$GW_SERVICE_NAME" --since "-$GW_SINCE_MINUTES min" -n 50 --no-pager -o short-iso
  else
    gw_note journal "journalctl not found"
  fi
  [[ $active == active || $active == reloading ]] || gw_fail "unit $GW_SERVICE_NAME is ${active:-in an unknown state}"
  exit 0
}

gw_service_docker() {
  gw_need docker
  local state rc pid
  state=$(docker inspect --type container \
    --format '{{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.State.ExitCode}} {{.RestartCount}} {{.State.OOMKilled}}' \
    "$GW_SERVICE_NAME" 2>&1)
  rc=$?
  if ((rc != 0)); then
    if [[ $state == *'No such'* ]]; then
      printf '#gw state exists=0\n'
      gw_fail "container $GW_SERVICE_NAME does not exist"
    fi
    gw_print "$state"
    if gw_denied "$state" || [[ $state == *'Cannot connect'* || $state == *'daemon running'* ]]; then
      gw_skip "docker is not reachable: $(gw_first_line "$state")"
    fi
    gw_fail "docker inspect exited $rc: $(gw_first_line "$state")"
  fi
  local re='^([a-z]+) (true|false) ([0-9]+) (-?[0-9]+) ([0-9]+) (true|false)$'
  [[ $state =~ $re ]] || gw_fail "docker inspect answered something unexpected: $(gw_first_line "$state")"
  printf '#gw state exists=1 status=%s running=%s pid=%s exit=%s restarts=%s oom=%s\n' \
    "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}" "${BASH_REMATCH[4]}" "${BASH_REMATCH[5]}" "${BASH_REMATCH[6]}"
  local running=${BASH_REMATCH[2]} status=${BASH_REMATCH[1]}
  pid=${BASH_REMATCH[3]}
  if ((pid > 0)); then
    gw_describe_pid "$pid"
    gw_listen_for_pids "$pid"
  fi
  printf '#gw section ports\n'
  gw_run docker port "$GW_SERVICE_NAME"
  printf '#gw section logs\n'
  gw_run docker logs --timestamps --since "${GW_SINCE_MINUTES}m" --tail 50 "$GW_SERVICE_NAME"
  [[ $running == true ]] || gw_fail "container $GW_SERVICE_NAME is $status"
  exit 0
}

gw_service_pm2() {
  gw_need pm2
  local home out pids=() pid
  home=$(gw_pm2_home)
  # Any pm2 command starts the pm2 daemon when none runs: only talk to one that is already there.
  [[ -n $home && -S $home/rpc.sock ]] ||
    gw_skip "no pm2 daemon runs for this user (no ${home:-\$HOME/.pm2}/rpc.sock); not starting one"
  gw_need node
  out=$(pm2 jlist 2>/dev/null | node -e "$GW_PM2_FILTER" 2>&1)
  local line re='^#gw pm2 pid=[0-9]+ status=[a-z-]* restarts=[0-9]+ unstable=[0-9]+ exit=-?[0-9]+$'
  while IFS= read -r line; do
    if [[ $line =~ $re ]]; then printf '%s\n' "$line"; else gw_print "$line"; fi
  done < <(printf '%s\n' "$out")
  [[ $out == *'#gw pm2 '* ]] || { printf '#gw state exists=0\n'; out=''; }
  while IFS= read -r pid; do pids+=("$pid"); done < <(gw_service_pids)
  for pid in ${pids[@]+"${pids[@]}"}; do gw_describe_pid "$pid"; done
  gw_listen_for_pids ${pids[@]+"${pids[@]}"}
  printf '#gw section logs\n'
  gw_run pm2 logs "$GW_SERVICE_NAME" --lines 50 --nostream --raw
  [[ -n $out ]] || gw_fail "pm2 has no app named $GW_SERVICE_NAME"
  [[ $out == *'status=online'* ]] || gw_fail "pm2 app $GW_SERVICE_NAME is not online"
  exit 0
}

gw_check_nginx_test() {
  gw_need_nginx
  local out rc emerg
  out=$(gw_nginx -t 2>&1)
  rc=$?
  gw_print "$out"
  if ((rc != 0)); then
    emerg=$(printf '%s\n' "$out" | grep -m 1 -E '\[(emerg|alert|crit)\]')
    gw_fail "nginx -t exited $rc${emerg:+: ${emerg:0:240}}"
  fi
  exit 0
}

gw_check_nginx_config() {
  gw_need_nginx
  gw_run gw_nginx -T
  local rc=$?
  ((rc == 0)) || gw_fail "nginx -T exited $rc"
  exit 0
}

# stat of one path as a `#gw stat` line (following symlinks, as connect() does).
gw_stat() {
  local path=$1 out
  local re='^([0-7]+) ([0-9]+) ([0-9]+) ([^ ]+) ([^ ]+) (.+)$'
  if out=$(stat -L -c '%a %u %g %U %G %F' -- "$path" 2>&1) && [[ $out =~ $re ]]; then
    printf '#gw stat path=%s exists=1 mode=%s uid=%s gid=%s owner=%s group=%s type=%s\n' "$(gw_urlencode "$path")" \
      "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}" "$(gw_urlencode "${BASH_REMATCH[4]}")" \
      "$(gw_urlencode "${BASH_REMATCH[5]}")" "$(gw_urlencode "${BASH_REMATCH[6]}")"
  else
    printf '#gw stat path=%s exists=0 error=%s\n' "$(gw_urlencode "$path")" "$(gw_urlencode "$(gw_first_line "$out")")"
  fi
}

gw_check_sockets() {
  gw_need_nginx
  gw_need stat
  local dump rc line user='' group='' source=config ids p dir rest paths=()
  dump=$(gw_nginx -T 2>/dev/null)
  rc=$?
  ((rc == 0)) || gw_skip "nginx -T exited $rc; socket paths are read from nginx's own configuration"
  local user_re='^[[:space:]]*user[[:space:]]+([^[:space:];]+)([[:space:]]+([^[:space:];]+))?[[:space:]]*;'
  line=$(printf '%s\n' "$dump" | sed 's/#.*//' | grep -m 1 -E "$user_re")
  if [[ $line =~ $user_re ]]; then
    user=${BASH_REMATCH[1]}
    group=${BASH_REMATCH[3]}
    # nginx: "If group is omitted, a group whose name equals that of user is used."
    [[ -n $group ]] || group=$user
  else
    # Without the directive the workers run as the build's --user/--group (nobody by default).
    source=default
    ids=$(gw_nginx -V 2>&1)
    [[ $ids =~ --user=([^[:space:]]+) ]] && user=${BASH_REMATCH[1]}
    [[ $ids =~ --group=([^[:space:]]+) ]] && group=${BASH_REMATCH[1]}
    [[ -n $user ]] || user=nobody
  fi
  if [[ $user =~ $GW_PATTERN_WORKER_USER ]] && [[ -z $group || $group =~ $GW_PATTERN_WORKER_USER ]]; then
    printf '#gw worker user=%s group=%s source=%s\n' "$user" "$group" "$source"
    if command -v id >/dev/null 2>&1 && ids=$(id -- "$user" 2>&1); then
      printf '#gw worker-id user=%s uid=%s gid=%s groups=%s\n' "$user" "$(id -u -- "$user")" "$(id -g -- "$user")" \
        "$(id -G -- "$user" | tr ' ' ',')"
      gw_print "$ids"
    else
      printf '#gw worker-id user=%s error=%s\n' "$user" "$(gw_urlencode "$(gw_first_line "${ids:-id not found}")")"
    fi
    if [[ -n $group ]] && command -v getent >/dev/null 2>&1; then
      line=$(getent group -- "$group" 2>/dev/null)
      [[ $line =~ ^[^:]*:[^:]*:([0-9]+): ]] && printf '#gw worker-group name=%s gid=%s\n' "$group" "${BASH_REMATCH[1]}"
    fi
  else
    printf '#gw worker user=%s source=%s usable=0\n' "$(gw_urlencode "$user")" "$source"
  fi
  # Only paths nginx itself names: `server unix:…;`, `proxy_pass http://unix:…:/uri;`, `fastcgi_pass unix:…;`.
  while IFS= read -r p; do paths+=("${p#unix:}"); done < <(
    printf '%s\n' "$dump" | sed 's/#.*//' | grep -oE "unix:[^[:space:];:\"'{}]+" | awk '!seen[$0]++' | head -n 64
  )
  for p in ${paths[@]+"${paths[@]}"}; do
    if ((${#p} > GW_MAX_PATH_LENGTH)) || [[ ! $p =~ $GW_PATTERN_ABSOLUTE_PATH ]]; then
      printf '#gw socket path=%s usable=0\n' "$(gw_urlencode "$p")"
      continue
    fi
    printf '#gw socket path=%s\n' "$(gw_urlencode "$p")"
    gw_stat "$p"
    # Every parent directory needs search permission for the worker.
    gw_stat /
    dir=''
    rest=${p#/}
    while [[ $rest == */* ]]; do
      dir+=/${rest%%/*}
      rest=${rest#*/}
      gw_stat "$dir"
    done
  done
  exit 0
}

gw_check_disk() {
  gw_need df
  local rc1 rc2
  printf '#gw section blocks\n'
  gw_run df -Pk
  rc1=$?
  printf '#gw section inodes\n'
  gw_run df -Pi
  rc2=$?
  ((rc1 == 0 && rc2 == 0)) || gw_reason "df exited $rc1/$rc2: some filesystems could not be read"
  exit 0
}

gw_check_memory() {
  [[ -r /proc/meminfo ]] || gw_skip "/proc/meminfo is not readable"
  gw_run head -c 65536 /proc/meminfo
  exit 0
}

# Sets `comm` to what `$(head -c 64 /proc/PID/comm)` gives (trailing newlines dropped), without a fork.
gw_read_comm() {
  comm=''
  IFS= read -r -d '' -n 64 comm 2>/dev/null <"/proc/$1/comm"
  while [[ $comm == *$'\n' ]]; do comm=${comm%$'\n'}; done
}

# Open descriptors and the soft limit of one process.
gw_fd_line() {
  local pid=$1 role=$2 open='' limit='' comm='' line fds
  [[ -d /proc/$pid ]] || return 0
  if [[ -r /proc/$pid/fd && -x /proc/$pid/fd ]]; then
    # Counted by a glob, not `ls | wc -l`: the same entries (descriptor names are numbers), no fork.
    shopt -s nullglob
    fds=("/proc/$pid/fd/"*)
    shopt -u nullglob
    open=${#fds[@]}
  fi
  if [[ -r /proc/$pid/limits ]]; then
    while IFS= read -r line; do
      if [[ $line =~ ^Max\ open\ files[[:space:]]+([0-9]+|unlimited) ]]; then
        limit=${BASH_REMATCH[1]}
        break
      fi
    done <"/proc/$pid/limits"
  fi
  [[ -r /proc/$pid/comm ]] && gw_read_comm "$pid"
  printf '#gw proc pid=%s role=%s open=%s limit=%s name=%s\n' "$pid" "$role" "$open" "$limit" "$(gw_urlencode "${comm%$'\n'}")"
}

gw_check_fds() {
  local allocated unused max pid n=0
  [[ -r /proc/sys/fs/file-nr ]] || gw_skip "/proc/sys/fs/file-nr is not readable"
  read -r allocated unused max </proc/sys/fs/file-nr
  printf '#gw file-nr allocated=%s unused=%s max=%s\n' "${allocated//[!0-9]/}" "${unused//[!0-9]/}" "${max//[!0-9]/}"
  if command -v pgrep >/dev/null 2>&1; then
    for pid in $(pgrep -x nginx 2>/dev/null); do
      gw_is_own "$pid" descendants && continue
      ((n++ < 64)) || break
      gw_fd_line "$pid" nginx
    done
  else
    gw_note nginx-pids "pgrep not found"
  fi
  if [[ -n ${GW_SERVICE_KIND:-} ]]; then
    while IFS= read -r pid; do gw_fd_line "$pid" service; done < <(gw_service_pids | head -n 64)
  fi
  ((EUID == 0)) || gw_reason "not root: descriptors of other users' processes are not counted"
  exit 0
}

# Every kernel-log line about an OOM kill, each with its wall-clock time (the classifier weighs a kill by
# when it happened against the first failure; a kernel log keeps unrelated kills for weeks) and the
# `oom-kill:` line that names the victim's cgroup. `dmesg --time-format iso` is exact; `dmesg -T` (older
# util-linux, busybox) drifts after a suspend; the journal is the fallback when dmesg is not permitted.
gw_check_oom() {
  local out rc notes='' source=dmesg-iso
  local match='killed process|out of memory|oom-kill:'
  if command -v dmesg >/dev/null 2>&1; then
    out=$(dmesg --time-format iso 2>&1)
    rc=$?
    if ((rc != 0)); then
      source=dmesg
      out=$(dmesg -T 2>&1)
      rc=$?
    fi
    if ((rc == 0)); then
      printf '#gw source %s\n' "$source"
      printf '%s\n' "$out" | grep -iE "$match" | tail -n 200 | gw_escape
      exit 0
    fi
    notes="dmesg: $(gw_first_line "$out")"
  else
    notes='dmesg not found'
  fi
  if command -v journalctl >/dev/null 2>&1; then
    out=$(journalctl -k --since "-$GW_SINCE_MINUTES min" --no-pager -o short-iso 2>&1)
    rc=$?
    if ((rc == 0)) && [[ $out != *'No journal files were found'* ]]; then
      printf '#gw source journalctl-k\n'
      printf '%s\n' "$out" | grep -iE "$match" | tail -n 200 | gw_escape
      gw_reason "$notes; read the kernel log from the journal instead"
      exit 0
    fi
    notes+="; journalctl -k: $(gw_first_line "$out")"
  else
    notes+='; journalctl not found'
  fi
  gw_skip "$notes"
}

gw_check_firewall() {
  local tool out rc ran=0 notes=''
  for tool in iptables-save ip6tables-save nft; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      printf '#gw tool name=%s rc=127 reason=not%%20found\n' "$tool"
      notes+="${notes:+; }$tool not found"
      continue
    fi
    if [[ $tool == nft ]]; then
      out=$(nft list ruleset 2>&1)
    else
      out=$("$tool" 2>&1)
    fi
    rc=$?
    if ((rc == 0)); then
      ran=1
      printf '#gw tool name=%s rc=0\n' "$tool"
    else
      printf '#gw tool name=%s rc=%s reason=%s\n' "$tool" "$rc" "$(gw_urlencode "$(gw_first_line "$out")")"
      notes+="${notes:+; }$tool: $(gw_first_line "$out")"
    fi
    gw_print "$out"
  done
  ((ran == 1)) || gw_skip "$notes"
  exit 0
}

# ---------------------------------------------------------------- framing

# Sets the variable named $1 to the time in milliseconds (no subshell: a fork costs more than a check's
# own work on a small VM).
gw_now_ms() {
  if [[ -n ${EPOCHREALTIME:-} ]]; then
    local gw_t=${EPOCHREALTIME//[!0-9]/}
    printf -v "$1" '%s' "${gw_t:0:${#gw_t}-3}"
  else
    printf -v "$1" '%s' "$(date +%s%3N)"
  fi
}

gw_frame() { printf '@@GATEWATCH %s %s\n' "$gw_nonce" "$*"; }

# Streams a check's output into its frame: every line prefixed with `|`, at most `cap` bytes of output
# (the line that crosses the cap is cut), the rest read and dropped so the check never blocks on a full
# pipe. The first `live` bytes are printed and flushed as they come (a run stopped half-way keeps what
# the check printed until then); later lines are held in memory and printed at the end, so a check whose
# frame waits behind another's (checks run side by side, frames come out in order) never blocks on a
# full pipe either. A `#gw reason …` line is held back: when it is the check's last line it goes to
# stderr with the truncation flag, for the END frame; when anything follows it, it was output like any
# other line.
readonly GW_FRAME_CONTENT='function out(text) {
  if (sent + length(text) + 1 <= live) { print text; fflush(); sent += length(text) + 1 }
  else { held_out[++held_n] = text; sent = live }
}
function emit(line, room) {
  if (cut) return
  room = cap - used
  if (length(line) + 1 <= room) { out("|" line); used += length(line) + 1 }
  else { if (room > 0) out("|" substr(line, 1, room)); used = cap; cut = 1 }
}
{
  if (held) { emit(reason); held = 0 }
  if ($0 ~ /^#gw reason /) { reason = $0; held = 1 } else emit($0)
}
END {
  for (i = 1; i <= held_n; i++) print held_out[i]
  fflush()
  printf " truncated=%d reason=%s", cut, (held ? substr(reason, 12) : "") > "/dev/stderr"
}'
# Bytes of a check's output streamed before the rest is held (well under a pipe's 64 KiB).
readonly GW_LIVE_BYTES=16384

# One check's whole frame on stdout: BEGIN, the output, END with status, exit and duration.
gw_run_check() {
  local name=$1 fn="gw_check_${1//-/_}" started ended meta rc=-1 status reason='' truncated=0
  gw_frame "BEGIN name=$name"
  gw_now_ms started
  # The check runs in its own bash under timeout, which kills the check's whole process group. Its
  # output goes through the framing awk to stdout; only the exit status and the time the check ended
  # (its own, not when its frame could be printed), the truncation flag and the reason come back here.
  meta=$(
    {
      {
        if [[ -n $GW_TIMEOUT_BIN ]]; then
          "$GW_TIMEOUT_BIN" -k "$GW_KILL_AFTER" "$GW_CHECK_TIMEOUT" "$BASH" -c "set -u; $fn" 2>&1 </dev/null 4>&- 5>&-
        else
          "$BASH" -c "set -u; $fn" 2>&1 </dev/null 4>&- 5>&-
        fi
        rc=$?
        gw_now_ms ended
        printf ' rc=%s ended=%s' "$rc" "$ended" >&5
      } | awk $GW_AWK_LIVE -v cap="$GW_OUTPUT_CAP" -v live="$GW_LIVE_BYTES" "$GW_FRAME_CONTENT" 2>&5 5>&-
    } 5>&1 1>&4
  )
  ended=$started
  [[ $meta =~ \ ended=([0-9]+) ]] && ended=${BASH_REMATCH[1]}
  [[ $meta =~ \ truncated=([01]) ]] && truncated=${BASH_REMATCH[1]}
  [[ $meta =~ \ reason=([^ ]*) ]] && reason=${BASH_REMATCH[1]//[!A-Za-z0-9._~\/%-]/}
  [[ $meta =~ \ rc=([0-9]+) ]] && rc=${BASH_REMATCH[1]}
  case $rc in
  0) status=ok ;;
  "$GW_RC_FAILED") status=failed ;;
  "$GW_RC_SKIPPED") status=skipped ;;
  124 | 137) status=error reason=$(gw_urlencode "timed out after ${GW_CHECK_TIMEOUT}s") ;;
  *) status=error reason=${reason:-$(gw_urlencode "check exited $rc")} ;;
  esac
  gw_frame "END name=$name status=$status exit=$rc ms=$((ended - started)) truncated=$truncated reason=$reason"
}

# The header's fields are set with builtins where bash has them: each fork costs milliseconds on a small VM.
# Sets gw_hostname.
gw_host() {
  local h=''
  [[ -r /proc/sys/kernel/hostname ]] && IFS= read -r -d '' -n 255 h </proc/sys/kernel/hostname
  [[ -n $h ]] || h=$(uname -n 2>/dev/null)
  h=${h//[!A-Za-z0-9.-]/}
  gw_hostname=${h:-unknown}
}

# Sets gw_nonce (never exported).
gw_make_nonce() {
  local n
  n=$(od -An -N16 -tx1 /dev/urandom 2>/dev/null)
  n=${n//[!0-9a-f]/}
  [[ $n =~ ^[0-9a-f]{32}$ ]] || printf -v n '%04x%04x%04x%04x%04x%04x%04x%04x' \
    "$RANDOM" "$RANDOM" "$RANDOM" "$RANDOM" "$RANDOM" "$RANDOM" "$RANDOM" "$RANDOM"
  gw_nonce=$n
}

# Sets gw_at: the time now, UTC (TZ=UTC above), to the second.
gw_now_iso() {
  if ((BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 2))); then
    printf -v gw_at '%(%Y-%m-%dT%H:%M:%SZ)T' -1
  else
    gw_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  fi
}

# ---------------------------------------------------------------- parameters

gw_errors=()
gw_invalid() { gw_errors+=("$1: $2"); }

gw_validate() {
  [[ -n ${GW_CHECKS:-} ]] || gw_invalid GW_CHECKS 'required: a comma list of listen, service, nginx-test, nginx-config, sockets, disk, memory, fds, oom, firewall'
  [[ -z ${GW_CHECKS:-} || $GW_CHECKS =~ $GW_PATTERN_CHECKS ]] ||
    gw_invalid GW_CHECKS "allowed: a comma list of check names matching $GW_PATTERN_CHECKS"
  [[ $GW_NGINX_BIN =~ $GW_PATTERN_NGINX_BIN ]] && ((${#GW_NGINX_BIN} <= GW_MAX_PATH_LENGTH)) ||
    gw_invalid GW_NGINX_BIN "allowed: nginx or an absolute path without . or .. segments ($GW_PATTERN_NGINX_BIN)"
  local var value
  for var in GW_NGINX_CONF GW_NGINX_PREFIX; do
    value=${!var}
    [[ -z $value ]] || { [[ $value =~ $GW_PATTERN_ABSOLUTE_PATH ]] && ((${#value} <= GW_MAX_PATH_LENGTH)); } ||
      gw_invalid "$var" "allowed: an absolute path without . or .. segments ($GW_PATTERN_ABSOLUTE_PATH)"
  done
  if [[ -n $GW_SERVICE_KIND || -n $GW_SERVICE_NAME ]]; then
    if [[ ! $GW_SERVICE_KIND =~ $GW_PATTERN_SERVICE_KIND ]]; then
      gw_invalid GW_SERVICE_KIND 'allowed: process, systemd, docker or pm2 (required with GW_SERVICE_NAME)'
    else
      local pattern
      case $GW_SERVICE_KIND in
      process) pattern=$GW_PATTERN_PROCESS_FRAGMENT ;;
      systemd) pattern=$GW_PATTERN_SYSTEMD_UNIT ;;
      *) pattern=$GW_PATTERN_CONTAINER_NAME ;;
      esac
      [[ $GW_SERVICE_NAME =~ $pattern ]] ||
        gw_invalid GW_SERVICE_NAME "allowed for a $GW_SERVICE_KIND service: $pattern"
    fi
  fi
  [[ -z $GW_PORTS || $GW_PORTS =~ $GW_PATTERN_PORTS ]] ||
    gw_invalid GW_PORTS 'allowed: a comma list of up to 64 ports from 1 to 65535'
  [[ $GW_SINCE_MINUTES =~ $GW_PATTERN_SINCE_MINUTES ]] || gw_invalid GW_SINCE_MINUTES 'allowed: 1 to 10080'
  [[ $GW_CHECK_TIMEOUT =~ $GW_PATTERN_CHECK_TIMEOUT ]] || gw_invalid GW_CHECK_TIMEOUT 'allowed: 1 to 60 (seconds)'
  [[ $GW_OUTPUT_CAP =~ $GW_PATTERN_OUTPUT_CAP ]] || gw_invalid GW_OUTPUT_CAP 'allowed: 1024 to 1048576 (bytes)'
}

# ---------------------------------------------------------------- main

# Unset and empty mean the same (SSM sends empty strings for parameters not given).
export GW_CHECKS=${GW_CHECKS:-}
export GW_NGINX_BIN=${GW_NGINX_BIN:-nginx}
export GW_NGINX_CONF=${GW_NGINX_CONF:-}
export GW_NGINX_PREFIX=${GW_NGINX_PREFIX:-}
export GW_SERVICE_KIND=${GW_SERVICE_KIND:-}
export GW_SERVICE_NAME=${GW_SERVICE_NAME:-}
export GW_PORTS=${GW_PORTS:-}
export GW_SINCE_MINUTES=${GW_SINCE_MINUTES:-15}
export GW_CHECK_TIMEOUT=${GW_CHECK_TIMEOUT:-10}
export GW_OUTPUT_CAP=${GW_OUTPUT_CAP:-65536}

gw_make_nonce
export -n gw_nonce
gw_host
gw_now_iso
gw_frame "START version=1 host=$gw_hostname at=$gw_at"

gw_validate
if ((${#gw_errors[@]} > 0)); then
  gw_frame 'BEGIN name=params'
  for gw_error in "${gw_errors[@]}"; do printf '|%s\n' "$gw_error"; done
  gw_frame "END name=params status=error exit=2 ms=0 truncated=0 reason=$(gw_urlencode "invalid parameters: ${gw_errors[*]%%:*}")"
  gw_frame 'DONE checks=0'
  exit 2
fi

# pgrep -f reads an extended regex: match the fragment literally ('.' and '+' are its only metacharacters).
gw_pattern=${GW_SERVICE_NAME//./[.]}
export GW_PGREP_PATTERN=${gw_pattern//+/[+]}
export GW_MAIN_PID=$$
GW_TIMEOUT_BIN=$(command -v timeout 2>/dev/null || true)
# mawk (Debian's and Ubuntu's awk) fills its input buffer before it processes a line; -W interactive
# makes it handle each line as it arrives, as gawk and busybox awk do anyway.
GW_AWK_LIVE=''
[[ $(awk -W version 2>&1 </dev/null) == mawk* ]] && GW_AWK_LIVE='-W interactive'
export GW_AWK_LIVE
export -f gw_urlencode gw_escape gw_run gw_print gw_first_line gw_reason gw_skip gw_fail gw_need gw_denied \
  gw_nginx gw_need_nginx gw_is_own gw_pm2_home gw_service_pids gw_describe_pid gw_listen_for_pids gw_note \
  gw_check_listen gw_check_service gw_service_process gw_service_systemd gw_service_docker gw_service_pm2 \
  gw_check_nginx_test gw_check_nginx_config gw_stat gw_check_sockets gw_check_disk gw_check_memory gw_fd_line \
  gw_check_fds gw_check_oom gw_check_firewall gw_read_comm

# The checks run side by side, all at once (at most ten): a diagnosis waits for the slowest check, not for
# the sum of them. Each check's frame comes through a pipe of its own; one `cat` reads the pipes in the
# order the checks were asked for, so every frame is printed whole and in that order, and the frame at
# the head streams as its check prints.
gw_list=()
for gw_check in ${GW_CHECKS//,/ }; do
  [[ " ${gw_list[*]-} " == *" $gw_check "* ]] || gw_list+=("$gw_check")
done
gw_pipes=()
gw_paths=()
# A check gets none of the pipes of the checks before it.
gw_close_pipes() {
  local fd
  for fd in ${gw_pipes[@]+"${gw_pipes[@]}"}; do exec {fd}<&-; done
}
for gw_check in "${gw_list[@]}"; do
  # fd 4 of the check: where its framed output goes (the pipe this script reads it from).
  exec {gw_fd}< <(gw_close_pipes; gw_run_check "$gw_check" 4>&1)
  gw_pipes+=("$gw_fd")
  gw_paths+=("/dev/fd/$gw_fd")
done
cat "${gw_paths[@]}"
gw_close_pipes
gw_frame "DONE checks=${#gw_list[@]}"
exit 0
