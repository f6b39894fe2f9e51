#!/bin/sh
# slurm-cluster.sh: starts or stops a single-node Slurm cluster on localhost
# for the launcher tests (issue #8).
#
#   slurm-cluster.sh start DIR [OWNER_PID]
#   slurm-cluster.sh stop DIR
#
# Everything lives in DIR: a munge key, socket, pid and log files for
# munged, a generated slurm.conf, and Slurm's state, spool, pid and log
# files, so the cluster touches nothing of the system's own munge or Slurm
# and several can run side by side (its ports are picked at random). Use it
# with SLURM_CONF=DIR/slurm.conf. start returns once sinfo shows the node
# idle, or fails with the reason and the daemons' logs on stderr, having
# stopped what it started. With OWNER_PID, a watchdog stops the cluster
# and removes DIR when that process goes away, so that a test that
# crashes or is killed leaves no daemon behind.
#
# Needs the Debian packages slurm-wlm and munge, and root (slurmd must run
# as root to start job steps).
#
# Copyright 2026 The tiny-worker developers
# SPDX-License-Identifier: LGPL-2.1-or-later

set -u

START_TIMEOUT=30     # seconds for the node to come up idle

die ()
{
  echo "slurm-cluster.sh: $*" >&2
  exit 1
}

# A free TCP port on the loopback interface (there is a small race with
# other programs until the daemon binds it; the ports are random, so two
# clusters rarely pick the same).
free_port ()
{
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null && return
  # No Python: a random port in the dynamic range.
  echo $(( 49152 + $(od -An -N2 -tu2 /dev/urandom) % 16000 ))
}

# Whether a process runs (a zombie only waits for its parent to reap it).
alive ()
{
  state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

kill_pid_file ()
{
  pid_file=$1
  [ -s "$pid_file" ] || return 0
  pid=$(cat "$pid_file" 2>/dev/null)
  case $pid in
    ''|*[!0-9]*) return 0 ;;
  esac
  kill -TERM "$pid" 2>/dev/null || return 0
  i=0
  while alive "$pid" && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  if alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null
  fi
  return 0
}

# The pids of the processes that hold a file under DIR open (slurmstepd
# keeps its socket in the spool directory), other than those in "$@".
pids_using_dir ()
{
  dir=$1
  for fd_dir in /proc/[0-9]*/fd; do
    pid=${fd_dir#/proc/}
    pid=${pid%/fd}
    [ "$pid" = "$$" ] && continue
    for fd in "$fd_dir"/*; do
      case $(readlink "$fd" 2>/dev/null) in
        "$dir"/*) echo "$pid"; break ;;
      esac
    done
  done
}

show_logs ()
{
  for log in "$DIR"/munged.log "$DIR"/slurmctld.log "$DIR"/slurmd.log; do
    [ -s "$log" ] || continue
    echo "--- tail of $log:" >&2
    tail -n 20 "$log" >&2
  done
}

do_stop ()
{
  [ -d "$DIR" ] || return 0
  # The watchdog first, so it does not stop the cluster a second time.
  kill_pid_file "$DIR/watchdog.pid"
  if [ -s "$DIR/slurm.conf" ] && command -v scancel >/dev/null; then
    SLURM_CONF="$DIR/slurm.conf" timeout 5 scancel --full --quiet --user=root \
      >/dev/null 2>&1 || true
  fi
  kill_pid_file "$DIR/slurmd.pid"
  kill_pid_file "$DIR/slurmctld.pid"
  # Job steps whose slurmd is gone, and anything else left in DIR.
  for pid in $(pids_using_dir "$DIR"); do
    case $(cat "/proc/$pid/comm" 2>/dev/null) in
      slurmstepd|slurmd|slurmctld|srun) kill -KILL "$pid" 2>/dev/null ;;
    esac
  done
  kill_pid_file "$DIR/munged.pid"
  rm -f "$DIR/munged.pid" "$DIR/slurmd.pid" "$DIR/slurmctld.pid" "$DIR/watchdog.pid"
  return 0
}

do_start ()
{
  owner=${1:-}

  for program in munged mungekey slurmctld slurmd sinfo srun; do
    command -v "$program" >/dev/null ||
      PATH="$PATH:/usr/sbin:/sbin" command -v "$program" >/dev/null ||
      die "$program is not installed (Debian packages slurm-wlm and munge)"
  done
  PATH="$PATH:/usr/sbin:/sbin"
  [ "$(id -u)" -eq 0 ] || die "must run as root, for slurmd to start job steps"

  mkdir -p "$DIR" || die "cannot create $DIR"
  DIR=$(cd "$DIR" && pwd -P)
  chmod 0700 "$DIR"
  mkdir -p "$DIR/state" "$DIR/spool" || die "cannot create the state directories"

  # munge ------------------------------------------------------------------
  rm -f "$DIR/munge.key"
  mungekey --create --keyfile="$DIR/munge.key" 2>/dev/null ||
    dd if=/dev/urandom of="$DIR/munge.key" bs=1 count=1024 2>/dev/null ||
    die "cannot create a munge key"
  chmod 0400 "$DIR/munge.key"
  # --force: /tmp is world-writable, which munged would refuse otherwise.
  munged --force \
    --socket="$DIR/munge.socket" \
    --key-file="$DIR/munge.key" \
    --pid-file="$DIR/munged.pid" \
    --log-file="$DIR/munged.log" \
    --seed-file="$DIR/munged.seed" \
    >"$DIR/munged.out" 2>&1 || {
      cat "$DIR/munged.out" >&2
      show_logs
      do_stop
      die "munged did not start"
    }

  # Slurm ------------------------------------------------------------------
  ctld_port=$(free_port)
  slurmd_port=$(free_port)
  while [ "$slurmd_port" = "$ctld_port" ]; do
    slurmd_port=$(free_port)
  done

  cat >"$DIR/slurm.conf" <<CONF
# Generated by tests/launchers/slurm-cluster.sh
ClusterName=tw-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$DIR/munge.socket
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=2
MinJobAge=10
NodeName=localhost CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

  export SLURM_CONF="$DIR/slurm.conf"

  # -i: ignore a state from an earlier run; -c: clear it.
  slurmctld -c -i >"$DIR/slurmctld.out" 2>&1 || {
    cat "$DIR/slurmctld.out" >&2
    show_logs
    do_stop
    die "slurmctld did not start"
  }
  slurmd -N localhost >"$DIR/slurmd.out" 2>&1 || {
    cat "$DIR/slurmd.out" >&2
    show_logs
    do_stop
    die "slurmd did not start"
  }

  if [ -n "$owner" ]; then
    # The watchdog: it stops the cluster if the owner goes away first.
    (
      trap '' HUP
      while kill -0 "$owner" 2>/dev/null; do
        sleep 1
      done
      rm -f "$DIR/watchdog.pid"
      "$0" stop "$DIR" >/dev/null 2>&1
      # Nobody is left to remove it.
      rm -rf "$DIR"
    ) </dev/null >/dev/null 2>&1 &
    echo $! >"$DIR/watchdog.pid"
  fi

  i=0
  while [ $i -lt $((START_TIMEOUT * 5)) ]; do
    state=$(sinfo --noheader --nodes=localhost --format=%t 2>/dev/null)
    case $state in
      idle) return 0 ;;
    esac
    sleep 0.2
    i=$((i + 1))
  done

  echo "slurm-cluster.sh: the node is \"$state\" after $START_TIMEOUT s, not idle" >&2
  show_logs
  do_stop
  exit 1
}

[ $# -ge 2 ] || die "usage: $0 start|stop DIR [OWNER_PID]"
command=$1
DIR=$2
shift 2

case $command in
  start) do_start "$@" ;;
  stop) do_stop ;;
  *) die "usage: $0 start|stop DIR [OWNER_PID]" ;;
esac
