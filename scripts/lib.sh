# shellcheck shell=bash
# Shared helpers for scripts/*. Source it; do not run it.
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Repository root: the parent of this file's folder, resolved physically.
PAYMUX_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
export PAYMUX_ROOT

# --- messages ----------------------------------------------------------------------------------
_paymux_prog="$(basename "$0")"
log() { printf '[%s] %s\n' "$_paymux_prog" "$*" >&2; }
warn() { printf '[%s] warning: %s\n' "$_paymux_prog" "$*" >&2; }
die() {
  printf '[%s] ERROR: %s\n' "$_paymux_prog" "$*" >&2
  exit 1
}

# print_usage: the script's header comment (line 2 up to `set -euo pipefail`).
print_usage() {
  sed -n '2,/^set -euo pipefail/s/^# \{0,1\}//p' "$0"
}

# Print the last N lines of a file to stderr, framed, if it exists.
show_tail() {
  local file=$1 lines=${2:-50}
  if [[ -f $file ]]; then
    printf '%s\n' "----- last $lines lines of $file -----" >&2
    tail -n "$lines" "$file" >&2 || true
    printf '%s\n' "----- end of $file -----" >&2
  else
    printf '%s\n' "(no log file at $file)" >&2
  fi
}

# --- timing ------------------------------------------------------------------------------------
# phase NAME starts a timed phase (ending the previous one); phase_end ends it; phase_summary
# prints every finished phase with its duration.
_phase_name=""
_phase_start=0
_phase_report=()
phase() {
  phase_end
  _phase_name=$1
  _phase_start=$SECONDS
  log "==> $1"
}
phase_end() {
  if [[ -n $_phase_name ]]; then
    local took=$((SECONDS - _phase_start))
    _phase_report+=("$(printf '%-10s %4ss' "$_phase_name" "$took")")
    log "<== $_phase_name done in ${took}s"
    _phase_name=""
  fi
}
phase_summary() {
  local line
  ((${#_phase_report[@]} > 0)) || return 0
  log "timings:"
  for line in "${_phase_report[@]}"; do
    printf '[%s]   %s\n' "$_paymux_prog" "$line" >&2
  done
}

# --- ports -------------------------------------------------------------------------------------
# port_is_free PORT: true when nothing answers on 127.0.0.1:PORT and we can really bind it.
# Some ports are taken without showing in `ss`, so a listing is not enough: try both.
port_is_free() {
  local port=$1
  [[ $port =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || return 1
  # shellcheck disable=SC2016 # $1 expands in the child shell
  if timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$port" 2>/dev/null; then
    return 1 # something accepted a connection
  fi
  perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $ARGV[0],
                                  Proto => "tcp", Listen => 1, ReuseAddr => 1);
    exit($s ? 0 : 1);' "$port" 2>/dev/null
}

# find_free_port START [EXCLUDED_PORT...]: print the first free port >= START (tries 200 ports).
find_free_port() {
  local port=$1 last=$(($1 + 200)) ex skip
  shift
  for (( ; port < last; port++)); do
    skip=0
    for ex in "$@"; do
      [[ $ex == "$port" ]] && skip=1
    done
    ((skip)) && continue
    if port_is_free "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  return 1
}

# wait_port_free PORT SECONDS: wait until PORT can be bound again.
wait_port_free() {
  local port=$1 deadline=$((SECONDS + $2))
  until port_is_free "$port"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# --- processes ---------------------------------------------------------------------------------
# pid_alive PID: true when PID is a live (non-zombie) process.
pid_alive() {
  local pid=$1 state
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # the state follows the last ')' (the command name may contain spaces or parentheses)
  state=$(sed -E 's/.*\) (.).*/\1/' "/proc/$pid/stat" 2>/dev/null || true)
  [[ $state != Z ]]
}

# pid_runs PID EXE_PATH: true when PID is alive and runs the executable EXE_PATH (guards against
# a recycled pid belonging to someone else's process).
pid_runs() {
  local pid=$1 want exe arg n=0
  want=$(readlink -f "$2" 2>/dev/null || printf '%s' "$2")
  pid_alive "$pid" || return 1
  exe=$(readlink -f "/proc/$pid/exe" 2>/dev/null || true)
  exe=${exe% (deleted)}
  [[ -n $exe && ($exe == "$want" || $(basename "$exe") == $(basename "$want")) ]] && return 0
  # An interpreted program (script) shows the interpreter as exe: look at its first arguments.
  while IFS= read -r -d '' arg && ((n++ < 2)); do
    [[ $arg == "$want" || $(readlink -f "$arg" 2>/dev/null) == "$want" ]] && return 0
  done 2>/dev/null <"/proc/$pid/cmdline"
  return 1
}

# stop_pidfile PIDFILE EXE_PATH NAME: stop the process recorded in PIDFILE (SIGTERM, then SIGKILL
# after 15 s), only if it still runs EXE_PATH. Removes the pid file.
stop_pidfile() {
  local pidfile=$1 exe=$2 name=$3 pid deadline
  [[ -f $pidfile ]] || return 0
  pid=$(head -n1 "$pidfile" 2>/dev/null || true)
  if [[ -n $pid ]] && pid_runs "$pid" "$exe"; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 15))
    while pid_alive "$pid" && ((SECONDS < deadline)); do
      sleep 0.2
    done
    if pid_alive "$pid"; then
      warn "$name (pid $pid) did not exit after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 5))
      while pid_alive "$pid" && ((SECONDS < deadline)); do
        sleep 0.1
      done
    fi
    pid_alive "$pid" && die "$name (pid $pid) is still running"
  elif [[ -n $pid ]]; then
    log "$name: stale pid file (pid $pid is not running $(basename "$exe")); removing it"
  fi
  rm -f "$pidfile"
}

# --- build -------------------------------------------------------------------------------------
# cmake_configure BUILD_DIR [CMAKE_CONFIGURE_ARGS...]: configure, only when BUILD_DIR has no
# usable cache.
cmake_configure() {
  local dir=$1
  shift
  command -v cmake >/dev/null || die "cmake not found; run scripts/deps"
  if [[ -f $dir/CMakeCache.txt && (-f $dir/Makefile || -f $dir/build.ninja) ]]; then
    log "reusing $dir (delete it to reconfigure from scratch)"
  else
    log "configuring $dir"
    cmake -S "$PAYMUX_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPAYMUX_WERROR=ON "$@" ||
      die "cmake configure of $dir failed (see the messages above)"
  fi
}

# cmake_build BUILD_DIR [CMAKE_CONFIGURE_ARGS...]: configure if needed, build with all cores.
cmake_build() {
  cmake_configure "$@"
  cmake --build "$1" -j"$(nproc 2>/dev/null || echo 2)" ||
    die "build in $1 failed (see the compiler errors above)"
}

# cmake_build_target BUILD_DIR TARGET [CMAKE_CONFIGURE_ARGS...]: the same for TARGET and what it
# depends on only.
cmake_build_target() {
  local dir=$1 target=$2
  shift 2
  cmake_configure "$dir" "$@"
  cmake --build "$dir" --target "$target" -j"$(nproc 2>/dev/null || echo 2)" ||
    die "build of $target in $dir failed (see the compiler errors above)"
}

# --- misc --------------------------------------------------------------------------------------
# random_hex N: N random bytes as lowercase hex.
random_hex() {
  od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'
}

# as_root CMD...: run CMD as root (directly when we are root, else through sudo).
as_root() {
  if ((EUID == 0)); then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "need root for: $* (run as root or install sudo)"
  fi
}
