#!/usr/bin/env bash
# Brings up a REAL single-node Slurm test cluster on this machine, for rx's e2e tests:
#   munge, MariaDB + slurmdbd (accounting, so sacct works), slurmctld, slurmd (node `localhost`,
#   partition `debug`), a Unix user `rxcluster` (the "cluster side"), and an sshd on
#   127.0.0.1:2222 that lets a generated client key log in as rxcluster.
# Writes /var/lib/rx-test/env (KEY=value lines) describing how to reach it.
#
# Run as root. Idempotent: when everything is already up it only checks and returns in a second
# or two. No systemd needed (daemons are started in the background, logs in /var/log/rx-test/).
# Fails (non-zero, naming what did not come up, with the tail of its log) if anything fails.
set -euo pipefail
umask 022
export LC_ALL=C

# One up.sh at a time (tests in several processes may all find the cluster down at once).
if [ "${RX_UP_LOCKED:-}" != 1 ] && command -v flock >/dev/null; then
  rc=0
  RX_UP_LOCKED=1 flock -w 600 -E 99 /run/rx-test-up.lock bash "$0" "$@" || rc=$?
  if [ "$rc" = 99 ]; then echo "up.sh: FAILED: another up.sh held /run/rx-test-up.lock for 10 minutes" >&2; fi
  exit "$rc"
fi

LOG=/var/log/rx-test
VAR=/var/lib/rx-test
ETC=/etc/rx-test
RUN=/run/rx-test
USER_NAME=rxcluster
USER_HOME=/home/rxcluster
SSH_PORT=2222
CLUSTER=rxtest
ACCOUNT=rx
T0=$SECONDS
CHANGED=0   # set to 1 when anything was (re)started or reconfigured: then the smoke test runs

say() { printf 'up.sh: %s\n' "$*" >&2; }
die() { # message [logfile...]
  local msg=$1; shift
  printf 'up.sh: FAILED: %s\n' "$msg" >&2
  local f
  for f in "$@"; do
    if [ -f "$f" ]; then
      printf -- '--- last lines of %s ---\n' "$f" >&2
      tail -n 40 "$f" >&2 || true
    fi
  done
  exit 1
}
# wait_for SECONDS CMD...: polls CMD (quietly) every 0.2 s until it succeeds or time runs out.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; }
# stop_pidfile FILE: TERM the process, wait up to 15 s, then KILL.
stop_pidfile() {
  local f=$1 pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null) || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 15))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}
# put FILE MODE OWNER < content: installs the content if it differs; returns 0 if it changed.
put() {
  local f=$1 mode=$2 owner=$3 tmp
  tmp=$(mktemp "$f.XXXXXX")
  cat >"$tmp"
  chmod "$mode" "$tmp"
  chown "$owner" "$tmp"
  if [ -f "$f" ] && cmp -s "$tmp" "$f" && [ "$(stat -c '%a %U:%G' "$f")" = "$(stat -c '%a %U:%G' "$tmp")" ]; then
    rm -f "$tmp"
    return 1
  fi
  mv -f "$tmp" "$f"
  return 0
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Do not hand descriptors inherited from the caller (e.g. a test runner's pipes) on to the daemons.
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  if [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2 && fd != 255)); then eval "exec $fd>&-" 2>/dev/null || true; fi
done

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts daemons)"

# ---------------------------------------------------------------------------------------------
# 1. Packages
# gfortran: the reference namelist reader the namelist tests compare rx's parser and patcher with.
PKGS=(slurmctld slurmd slurm-client slurmdbd mariadb-server munge openssh-server openssh-client rsync git gfortran)
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  mkdir -p "$LOG"
  say "installing ${missing[*]} (log: $LOG/apt.log)"
  # Keep package scripts from starting services (no systemd here; we start them ourselves).
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  ok=1
  apt-get update >>"$LOG/apt.log" 2>&1 || ok=0
  if ((ok)); then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOG/apt.log" 2>&1 || ok=0
  fi
  ((made_policy)) && rm -f /usr/sbin/policy-rc.d
  ((ok)) || die "apt-get could not install ${missing[*]}" "$LOG/apt.log"
  CHANGED=1
fi

mkdir -p "$LOG" "$VAR" "$ETC" "$RUN" "$VAR/client" "$VAR/slurmctld" "$VAR/slurmd"
chmod 755 "$LOG" "$VAR" "$ETC" "$RUN"
chmod 700 "$VAR/client"

# ---------------------------------------------------------------------------------------------
# 2. The cluster-side user
if ! id -u "$USER_NAME" >/dev/null 2>&1; then
  useradd --create-home --home-dir "$USER_HOME" --shell /bin/bash "$USER_NAME" || die "useradd $USER_NAME failed"
  CHANGED=1
fi
# A locked password ("!") makes sshd (UsePAM no) refuse even key logins; "*" = no password, not locked.
if [ "$(getent shadow "$USER_NAME" | cut -d: -f2)" != '*' ]; then usermod -p '*' "$USER_NAME"; fi
mkdir -p "$USER_HOME/.ssh"
chown "$USER_NAME:" "$USER_HOME" "$USER_HOME/.ssh"
chmod 755 "$USER_HOME"
chmod 700 "$USER_HOME/.ssh"
put "$USER_HOME/.gitconfig" 644 "$USER_NAME:" <<'EOF' || true
[user]
	name = rx cluster test user
	email = rxcluster@localhost
[safe]
	directory = *
[init]
	defaultBranch = main
EOF

# ---------------------------------------------------------------------------------------------
# 3. munge
munge_ok() { munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }
if ! munge_ok; then
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    mungekey --create --keyfile=/etc/munge/munge.key >>"$LOG/munged.log" 2>&1 \
      || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null
  fi
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /etc/munge /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge
  chmod 700 /etc/munge
  chmod 400 /etc/munge/munge.key
  chmod 755 /run/munge
  touch "$LOG/munged.log" && chown munge:munge "$LOG/munged.log"
  [ -s /run/munge/munged.pid ] && ! pid_alive /run/munge/munged.pid && rm -f /run/munge/munged.pid /run/munge/munge.socket.2*
  runuser -u munge -- /usr/sbin/munged --force --log-file="$LOG/munged.log" </dev/null >>"$LOG/munged.log" 2>&1 \
    || die "munged did not start" "$LOG/munged.log"
  wait_for 15 munge_ok || die "munged is not answering (munge -n | unmunge fails)" "$LOG/munged.log"
  CHANGED=1
fi

# ---------------------------------------------------------------------------------------------
# 4. MariaDB (for slurmdbd)
db_ok() { mysqladmin --protocol=socket -uroot status >/dev/null 2>&1; }
if ! db_ok; then
  mkdir -p /run/mysqld
  chown mysql:mysql /run/mysqld
  touch "$LOG/mariadb.log" && chown mysql:mysql "$LOG/mariadb.log"
  if [ ! -d /var/lib/mysql/mysql ]; then
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >>"$LOG/mariadb.log" 2>&1 \
      || die "mariadb-install-db failed" "$LOG/mariadb.log"
  fi
  setsid mysqld_safe --skip-syslog --user=mysql --log-error="$LOG/mariadb.log" --innodb-lock-wait-timeout=900 \
    </dev/null >>"$LOG/mariadb.log" 2>&1 &
  wait_for 60 db_ok || die "MariaDB did not come up (no answer on /run/mysqld/mysqld.sock)" "$LOG/mariadb.log"
  CHANGED=1
fi
if [ ! -s "$ETC/dbpass" ]; then
  (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$ETC/dbpass")
fi
DBPASS=$(cat "$ETC/dbpass")
mariadb -uroot --protocol=socket >>"$LOG/mariadb.log" 2>&1 <<EOF || die "could not create the slurm database/user in MariaDB" "$LOG/mariadb.log"
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DBPASS';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$DBPASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
EOF

# ---------------------------------------------------------------------------------------------
# 5. slurmdbd
mkdir -p /etc/slurm
dbd_conf_changed=0
put /etc/slurm/slurmdbd.conf 600 root:root <<EOF && dbd_conf_changed=1 || true
# Written by rx test/cluster/up.sh
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
DebugLevel=info
LogFile=$LOG/slurmdbd.log
PidFile=$RUN/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=$DBPASS
StorageLoc=slurm_acct_db
EOF
dbd_ok() { pid_alive "$RUN/slurmdbd.pid" && port_open 6819; }
if ((dbd_conf_changed)) || ! dbd_ok; then
  stop_pidfile "$RUN/slurmdbd.pid"
  slurmdbd </dev/null >>"$LOG/slurmdbd.log" 2>&1 || die "slurmdbd did not start" "$LOG/slurmdbd.log"
  wait_for 60 dbd_ok || die "slurmdbd is not listening on port 6819" "$LOG/slurmdbd.log"
  CHANGED=1
fi

# ---------------------------------------------------------------------------------------------
# 6. slurm.conf
NCPU=$(nproc)
slurm_conf_changed=0
put /etc/slurm/slurm.conf 644 root:root <<EOF && slurm_conf_changed=1 || true
# Written by rx test/cluster/up.sh: a single-node test cluster.
ClusterName=$CLUSTER
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$VAR/slurmctld
SlurmdSpoolDir=$VAR/slurmd
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# Keep finished jobs visible to scontrol for an hour; allow many jobs (bench submits 1000s).
MinJobAge=3600
MaxJobCount=100000
MaxArraySize=100001
# Fast turnaround for tests: no submit-time scheduling (sbatch returns at once), frequent passes.
SchedulerType=sched/backfill
SchedulerParameters=defer,sched_interval=1,sched_min_interval=200000,bf_interval=1,batch_sched_delay=0,default_queue_depth=1000
MessageTimeout=30
KillWait=5
InactiveLimit=0
Waittime=0
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
# Enforce association and QOS limits, so submit limits set with sacctmgr (the limit tests) apply.
AccountingStorageEnforce=associations,limits,qos
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName=localhost CPUs=$NCPU State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF

# ---------------------------------------------------------------------------------------------
# 7. Accounting: cluster, account, users (slurmdbd must be up; slurmctld registers afterwards)
sam() { sacctmgr -i "$@" >>"$LOG/sacctmgr.log" 2>&1; }
assocs() { sacctmgr -n -P show assoc format=cluster,account,user 2>/dev/null; }
has_line() { grep -qxF -- "$1" <<<"$ASSOCS"; }
# (a new cluster gets a root association `cluster|root|`)
wait_for 30 sacctmgr -n -P show assoc format=cluster || die "sacctmgr cannot talk to slurmdbd" "$LOG/slurmdbd.log"
ASSOCS=$(assocs)
if ! has_line "$CLUSTER|root|" ; then
  sam add cluster "$CLUSTER" || true
  ASSOCS=$(assocs)
  has_line "$CLUSTER|root|" || die "sacctmgr add cluster $CLUSTER failed" "$LOG/sacctmgr.log"
fi
if ! has_line "$CLUSTER|$ACCOUNT|"; then
  sam add account "$ACCOUNT" Cluster="$CLUSTER" Description=rx-tests Organization=rx || true
  ASSOCS=$(assocs)
  has_line "$CLUSTER|$ACCOUNT|" || die "sacctmgr add account $ACCOUNT failed" "$LOG/sacctmgr.log"
fi
for u in "$USER_NAME" root; do
  if ! has_line "$CLUSTER|$ACCOUNT|$u"; then
    sam add user "$u" Account="$ACCOUNT" Cluster="$CLUSTER" || true
    ASSOCS=$(assocs)
    has_line "$CLUSTER|$ACCOUNT|$u" || die "sacctmgr add user $u to account $ACCOUNT failed" "$LOG/sacctmgr.log"
  fi
done

# Two QOS with submit limits for the limit tests (jobs ask for them with --qos; the default QOS
# `normal` stays unlimited): rxlimit caps each user at 5 queued jobs, rxgrp caps all users together at 4.
QOS=$(sacctmgr -n -P show qos format=name 2>/dev/null)
grep -qx rxlimit <<<"$QOS" || sam add qos rxlimit MaxSubmitJobsPerUser=5 || true
grep -qx rxgrp <<<"$QOS" || sam add qos rxgrp GrpSubmitJobs=4 || true
for u in "$USER_NAME" root; do
  case "$(sacctmgr -n -P show assoc where user="$u" account="$ACCOUNT" format=qos 2>/dev/null)" in
    *rxlimit*rxgrp* | *rxgrp*rxlimit*) ;;
    *) sam modify user where name="$u" account="$ACCOUNT" set qos+=rxlimit,rxgrp || true ;;
  esac
done

# ---------------------------------------------------------------------------------------------
# 8. slurmctld + slurmd
ctld_ok() { scontrol ping 2>/dev/null | grep -q 'is UP'; }
node_state() { sinfo -h -N -n localhost -o '%T' 2>/dev/null | head -n1; }
node_ready() { case "$(node_state)" in idle | mixed | allocated | completing) return 0 ;; *) return 1 ;; esac; }
if ((slurm_conf_changed)) || ! pid_alive "$RUN/slurmctld.pid" || ! ctld_ok; then
  stop_pidfile "$RUN/slurmd.pid"
  stop_pidfile "$RUN/slurmctld.pid"
  slurmctld </dev/null >>"$LOG/slurmctld.log" 2>&1 || die "slurmctld did not start" "$LOG/slurmctld.log"
  wait_for 60 ctld_ok || die "slurmctld is not answering (scontrol ping)" "$LOG/slurmctld.log"
  CHANGED=1
fi
if ! pid_alive "$RUN/slurmd.pid"; then
  slurmd -N localhost </dev/null >>"$LOG/slurmd.log" 2>&1 || die "slurmd did not start" "$LOG/slurmd.log"
  wait_for 15 pid_alive "$RUN/slurmd.pid" || die "slurmd exited right after starting" "$LOG/slurmd.log"
  CHANGED=1
fi
if ! wait_for 60 node_ready; then
  # A node left DOWN/DRAINED by an earlier unclean stop: bring it back once.
  scontrol update nodename=localhost state=resume >>"$LOG/slurmctld.log" 2>&1 || true
  wait_for 30 node_ready || die "node localhost is not idle in sinfo (state: '$(node_state)')" "$LOG/slurmd.log" "$LOG/slurmctld.log"
  CHANGED=1
fi

# ---------------------------------------------------------------------------------------------
# 9. sshd on 127.0.0.1:2222 and the client key
if [ ! -s "$ETC/ssh_host_ed25519_key" ]; then
  ssh-keygen -q -t ed25519 -N '' -C rx-test-host -f "$ETC/ssh_host_ed25519_key" || die "ssh-keygen (host key) failed"
fi
chmod 600 "$ETC/ssh_host_ed25519_key"
KEY=$VAR/client/id_ed25519
if [ ! -s "$KEY" ]; then
  rm -f "$KEY" "$KEY.pub"
  ssh-keygen -q -t ed25519 -N '' -C rx-test-client -f "$KEY" || die "ssh-keygen (client key) failed"
fi
chmod 600 "$KEY"
put "$USER_HOME/.ssh/authorized_keys" 600 "$USER_NAME:" <"$KEY.pub" || true
sshd_conf_changed=0
put "$ETC/sshd_config" 644 root:root <<EOF && sshd_conf_changed=1 || true
# Written by rx test/cluster/up.sh
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $ETC/ssh_host_ed25519_key
PidFile $RUN/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
AllowUsers $USER_NAME
PermitRootLogin no
UsePAM no
X11Forwarding no
PrintMotd no
LogLevel VERBOSE
MaxStartups 100:30:200
MaxSessions 100
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
mkdir -p /run/sshd && chmod 755 /run/sshd
sshd_ok() { pid_alive "$RUN/sshd.pid" && port_open "$SSH_PORT"; }
if ((sshd_conf_changed)) || ! sshd_ok; then
  stop_pidfile "$RUN/sshd.pid"
  /usr/sbin/sshd -t -f "$ETC/sshd_config" >>"$LOG/sshd.log" 2>&1 || die "sshd config test failed" "$LOG/sshd.log"
  /usr/sbin/sshd -f "$ETC/sshd_config" -E "$LOG/sshd.log" </dev/null >>"$LOG/sshd.log" 2>&1 || die "sshd did not start" "$LOG/sshd.log"
  wait_for 15 sshd_ok || die "sshd is not listening on 127.0.0.1:$SSH_PORT" "$LOG/sshd.log"
  CHANGED=1
fi
HOSTPUB=$(cut -d' ' -f1,2 "$ETC/ssh_host_ed25519_key.pub")
put "$VAR/known_hosts" 644 root:root <<<"[127.0.0.1]:$SSH_PORT $HOSTPUB" || true
SSH=(ssh -F /dev/null -i "$KEY" -p "$SSH_PORT" -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=10
  -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$VAR/known_hosts" -o LogLevel=ERROR "$USER_NAME@127.0.0.1")
out=$("${SSH[@]}" 'echo rx-ok $(id -un)' 2>&1) || die "ssh login as $USER_NAME on 127.0.0.1:$SSH_PORT failed: $out" "$LOG/sshd.log"
[ "$out" = "rx-ok $USER_NAME" ] || die "ssh login answered '$out'" "$LOG/sshd.log"

# ---------------------------------------------------------------------------------------------
# 10. The env file
put "$VAR/env" 644 root:root <<EOF || true
RX_TEST_SSH_HOST=127.0.0.1
RX_TEST_SSH_PORT=$SSH_PORT
RX_TEST_SSH_USER=$USER_NAME
RX_TEST_SSH_KEY=$KEY
RX_TEST_HOST_PUBKEY='$HOSTPUB'
RX_TEST_KNOWN_HOSTS=$VAR/known_hosts
RX_TEST_CLUSTER_HOME=$USER_HOME
RX_TEST_CLUSTER_NAME=$CLUSTER
RX_TEST_PARTITION=debug
RX_TEST_ACCOUNT=$ACCOUNT
EOF

# ---------------------------------------------------------------------------------------------
# 11. Smoke test (only when something changed): sbatch as rxcluster, over ssh, until sacct says COMPLETED.
if ((CHANGED)) || [ ! -f "$VAR/ready" ]; then
  rm -f "$VAR/ready"
  jid=$("${SSH[@]}" 'cd && sbatch --parsable -J rx-smoke -o /dev/null --wrap true' 2>&1) \
    || die "sbatch as $USER_NAME failed: $jid" "$LOG/slurmctld.log"
  jid=${jid%%;*}
  [[ $jid =~ ^[0-9]+$ ]] || die "sbatch answered '$jid'" "$LOG/slurmctld.log"
  sacct_state() { sacct -n -P -X -j "$jid" -o State 2>/dev/null | head -n1; }
  deadline=$((SECONDS + 90))
  while st=$(sacct_state); [ "$st" != COMPLETED ]; do
    case "$st" in FAILED* | CANCELLED* | NODE_FAIL* | TIMEOUT* | OUT_OF_MEMORY* | BOOT_FAIL*)
      die "smoke job $jid ended $st" "$LOG/slurmd.log" "$LOG/slurmctld.log" ;;
    esac
    ((SECONDS < deadline)) || die "smoke job $jid did not show as COMPLETED in sacct within 90 s (sacct: '$st', scontrol: $(scontrol show job -o "$jid" 2>&1 | grep -o 'JobState=[A-Z_]*'))" "$LOG/slurmctld.log" "$LOG/slurmdbd.log"
    sleep 0.3
  done
  date -u +%FT%TZ >"$VAR/ready"
  say "cluster up in $((SECONDS - T0)) s (env: $VAR/env)"
fi
exit 0
