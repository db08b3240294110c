#!/usr/bin/env bash
# A private single-node SLURM cluster for the tests: munged, MariaDB + slurmdbd (accounting, which submitit's
# sacct polls need), slurmctld and slurmd, all on 127.0.0.1 with every file (config, keys, sockets, state, logs,
# PIDs) in DIR. Nothing global is touched: clients find it through SLURM_CONF=DIR/slurm.conf.
#
#   .ci/slurm.sh start DIR    # up in a few seconds; prints `export SLURM_CONF=DIR/slurm.conf`
#   .ci/slurm.sh status DIR   # which daemons are alive; sinfo
#   .ci/slurm.sh stop DIR     # each daemon killed by its PID (never by name)
#
# Needs root and Debian's slurm-wlm, munge, slurmdbd and mariadb-server (see .ci/run). Tested with slurm 22.05.
set -euo pipefail

usage() { echo "usage: $0 start|stop|status DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)
DAEMONS=(slurmd slurmctld slurmdbd mariadbd munged)  # stop order: the reverse of start

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_for() {  # wait_for SECONDS WHAT COMMAND...: poll COMMAND every 0.1 s
    local limit=$1 what=$2 i
    shift 2
    for ((i = 0; i < limit * 10; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "slurm.sh: $what did not come up within ${limit}s; logs in $dir/log" >&2
    tail -n 20 "$dir"/log/*.log >&2 || true
    return 1
}

alive() { [ -s "$dir/pid/$1.pid" ] && kill -0 "$(cat "$dir/pid/$1.pid")" 2>/dev/null; }

start_bg() {  # start_bg NAME COMMAND...: run in the background in a session of its own, remember the PID
    local name=$1
    shift
    # setsid: no daemon stays in the caller's process group (the test run's), whatever it signals there
    setsid "$@" >>"$dir/log/$name.out" 2>&1 </dev/null &
    echo $! >"$dir/pid/$name.pid"
}

write_config() {
    local ctld_port slurmd_port dbd_port node
    ctld_port=$(free_port)
    slurmd_port=$(free_port)
    dbd_port=$(free_port)
    # this machine's CPUs, sockets and memory as slurmd sees them, under the node name `localhost`
    node=$(slurmd -C | head -n 1 | sed -e 's/^NodeName=[^ ]*//' -e 's/ *UpTime=.*//')
    cat >"$dir/slurm.conf" <<EOF
ClusterName=avtca
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.sock,cred_expire=10
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
KillWait=5
MinJobAge=300
SchedulerParameters=sched_interval=1
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$dbd_port
AccountingStoragePass=$dir/munge/munge.sock
NodeName=localhost NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    cat >"$dir/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$dbd_port
SlurmUser=root
LogFile=$dir/log/slurmdbd.log
PidFile=$dir/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=slurm_acct_db
EOF
    chmod 600 "$dir/slurmdbd.conf"  # slurmdbd refuses a readable config (it may hold a password)
}

start() {
    if alive slurmctld; then
        echo "slurm.sh: a cluster is already running in $dir (stop it first)" >&2
        return 1
    fi
    for tool in munged mariadbd slurmdbd slurmctld slurmd sbatch; do
        command -v "$tool" >/dev/null || { echo "slurm.sh: $tool not found (apt-get install slurm-wlm munge slurmdbd mariadb-server)" >&2; return 1; }
    done
    rm -rf "$dir"/{state,spool,run,log,pid,munge,mysql}
    mkdir -p "$dir"/{state,spool,run,log,pid,munge,mysql}
    chmod 700 "$dir/munge"
    write_config

    # munge: a fresh key for this cluster only, its socket in DIR
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$dir/munge/munge.key"
    start_bg munged munged -F --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/seed"
    wait_for 10 munged test -S "$dir/munge/munge.sock"

    # MariaDB for slurmdbd: an empty data directory, reached only through its socket in DIR (no TCP port),
    # without grant tables (nothing but this cluster's slurmdbd can reach the socket: DIR is root's)
    start_bg mariadbd mariadbd --no-defaults --datadir="$dir/mysql" --socket="$dir/run/mysql.sock" \
        --skip-networking --skip-grant-tables --user=root --innodb-log-file-size=4M \
        --innodb-buffer-pool-size=32M --pid-file="$dir/run/mariadbd.pid" --log-error="$dir/log/mariadbd.log"
    wait_for 20 MariaDB test -S "$dir/run/mysql.sock"

    export SLURM_CONF="$dir/slurm.conf"
    # the MariaDB client library slurmdbd uses reads the socket path from MYSQL_UNIX_PORT
    MYSQL_UNIX_PORT="$dir/run/mysql.sock" start_bg slurmdbd slurmdbd -D  # reads slurmdbd.conf beside SLURM_CONF
    wait_for 20 slurmdbd grep -q "slurmdbd version .* started" "$dir/log/slurmdbd.log"
    start_bg slurmctld slurmctld -D -i -f "$dir/slurm.conf"
    wait_for 20 slurmctld scontrol ping
    start_bg slurmd slurmd -D -N localhost -f "$dir/slurm.conf"
    wait_for 30 "the node" idle_node
    echo "export SLURM_CONF=$dir/slurm.conf"
}

idle_node() { [ "$(sinfo -h -N -o %t 2>/dev/null)" = "idle" ]; }

stop() {
    local name pid i
    if alive slurmctld; then  # jobs first: their steps are not children of slurmd and would outlive it
        SLURM_CONF="$dir/slurm.conf" scancel --quiet --full --user="$(id -un)" 2>/dev/null || true
        for ((i = 0; i < 150; i++)); do
            [ -z "$(SLURM_CONF="$dir/slurm.conf" squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.1
        done
    fi
    local pids=()
    for name in "${DAEMONS[@]}"; do  # all at once: each takes a while to exit, none needs another to stop
        [ -s "$dir/pid/$name.pid" ] || continue
        pid=$(cat "$dir/pid/$name.pid")
        if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null && pids+=("$pid"); fi
        rm -f "$dir/pid/$name.pid"
    done
    for ((i = 0; i < 100; i++)); do
        local alive_any=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive_any=1; done
        [ $alive_any -eq 0 ] && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}

status() {
    local name code=0
    for name in "${DAEMONS[@]}"; do
        if alive "$name"; then echo "$name: running (pid $(cat "$dir/pid/$name.pid"))"; else echo "$name: stopped"; code=1; fi
    done
    if [ $code -eq 0 ]; then SLURM_CONF="$dir/slurm.conf" sinfo; fi
    return $code
}

case $cmd in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) usage ;;
esac
