#!/bin/sh
# The holder of one game server: a few lines of POSIX sh and awk that own the game's stdio so the
# game outlives wirehub. wirehub starts it detached (its own session) and finds it again through
# the files in its run folder:
#   stdin      FIFO the game reads its console from; opened read-write here, so the game never
#              sees end-of-file while no wirehub is writing
#   game.pid   the game's process id (its own session: setsid)
#   exit       the game's exit status, written once the last line is in the log
# Every line the game prints (stdout and stderr) is appended to the console log as
# "<seq>\t<unix ms>\t<text>" and the log is rotated at <max-bytes>, keeping <keep> old files.
#
# usage: holder.sh <run-dir> <log-file> <last-seq> <log-bytes> <max-bytes> <keep> <cgroup-procs-files|-> -- <command> [args...]
run=$1 log=$2 seq=$3 size=$4 max=$5 keep=$6 cgroups=$7
shift 7
[ "$1" = -- ] && shift

# Join the resource groups wirehub prepared before anything else starts: children inherit them.
if [ "$cgroups" != - ]; then
  for f in $(echo "$cgroups" | tr ':' ' '); do echo $$ >"$f" || echo "cgroup: could not join $f" >&2; done
fi

exec 3<>"$run/stdin" </dev/null
# mawk reads a pipe in large blocks unless told to read it line by line (-W interactive).
awk=awk interactive=
if command -v mawk >/dev/null 2>&1; then awk=mawk interactive='-W interactive'; fi
{
  setsid "$@" <&3 3<&- 2>&1 &
  pid=$!
  echo "$pid" >"$run/game.pid.tmp" && mv -f "$run/game.pid.tmp" "$run/game.pid"
  wait "$pid"
  code=$?
  # As when a container's init ends: whatever the game left behind in its session goes too.
  kill -9 -"$pid" 2>/dev/null
  echo "$code" >"$run/code"
} 3<&3 | "$awk" $interactive -v seq="$seq" -v size="$size" -v max="$max" -v keep="$keep" -v file="$log" '
  function q(s) { gsub(/'\''/, "'\''\\'\'''\''", s); return "'\''" s "'\''" }
  function rotate(  i, cmd) {
    close(file)
    cmd = ""
    for (i = keep - 1; i >= 1; i--) cmd = cmd "[ -e " q(file "." i) " ] && mv -f " q(file "." i) " " q(file "." (i + 1)) "; "
    system(cmd "mv -f " q(file) " " q(file ".1"))
    size = 0
  }
  {
    sub(/\r$/, "")
    if (length($0) > 65536) $0 = substr($0, 1, 65536)
    out = (++seq) "\t" systime() "000\t" $0
    print out >>file
    fflush(file)
    size += length(out) + 1
    if (max > 0 && size >= max) rotate()
  }' 3<&-
mv -f "$run/code" "$run/exit"
