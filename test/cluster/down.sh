#!/usr/bin/env bash
# Stops what test/cluster/up.sh started (sshd on :2222, slurmd, slurmctld, slurmdbd, MariaDB, munged).
# Keeps data (database, Slurm state, keys, the rxcluster user); `up.sh` brings it all back.
# `down.sh --purge` also deletes the Slurm state, keys, env file and logs (not the database or user).
set -uo pipefail
RUN=/run/rx-test
[ "$(id -u)" = 0 ] || { echo "down.sh: must run as root" >&2; exit 1; }

stop_pidfile() {
  local f=$1 name=$2 pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null) || return 0
  if kill -0 "$pid" 2>/dev/null; then
    echo "down.sh: stopping $name (pid $pid)" >&2
    kill "$pid" 2>/dev/null
    local deadline=$((SECONDS + 20))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$f"
}

stop_pidfile "$RUN/sshd.pid" sshd
stop_pidfile "$RUN/slurmd.pid" slurmd
stop_pidfile "$RUN/slurmctld.pid" slurmctld
stop_pidfile "$RUN/slurmdbd.pid" slurmdbd
if mysqladmin --protocol=socket -uroot status >/dev/null 2>&1; then
  echo "down.sh: stopping MariaDB" >&2
  mysqladmin --protocol=socket -uroot shutdown || true
fi
stop_pidfile /run/munge/munged.pid munged
rm -f /var/lib/rx-test/ready

if [ "${1:-}" = --purge ]; then
  echo "down.sh: purging /var/lib/rx-test /etc/rx-test /var/log/rx-test" >&2
  rm -rf /var/lib/rx-test /etc/rx-test /var/log/rx-test
fi
exit 0
