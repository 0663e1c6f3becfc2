#!/usr/bin/env bash
# A one-node Slurm cluster on this host, for tests/test_slurm.py (usable by hand too).
#
#   tests/slurm/cluster.sh start    write /etc/slurm/slurm.conf, start munged (if none runs),
#                                   slurmctld and slurmd as root; wait until the node is idle
#   tests/slurm/cluster.sh stop     stop the daemons this script started, by PID; remove the
#                                   config it wrote
#   tests/slurm/cluster.sh status   sinfo
#
# Needs root and Debian's packages: apt-get install -y slurm-wlm munge
# The node has this host's CPUs and its memory minus a margin, in one partition, `test`
# (the default); daemons and clients talk over 127.0.0.1, so the host name need not resolve. Accounting is off, so Snakemake's Slurm executor must query job states
# with squeue (--slurm-status-command squeue); MinJobAge keeps finished jobs visible to
# squeue for 10 minutes, longer than the executor's longest pause between status checks.
#
# TRAINABILITY_SLURM_FAKE_GPUS=N declares N pretend GPUs (GRES gpu:fake:N, empty files as
# their devices) so that jobs asking for GPUs (--gpus, --gres) are scheduled and run; nothing in
# them can use CUDA.
#
# Exit status of `start`: 0 when the node is idle; 3 when a cluster cannot be brought up
# here (not root, packages absent, a foreign Slurm config or daemon, the node never idle),
# with one line on stderr starting "cannot start a Slurm cluster here:"; the test skips
# with that line. Logs, PID files and spool live in $TRAINABILITY_SLURM_DIR
# (default /var/tmp/trainability-slurm).
set -uo pipefail
export PATH="$PATH:/usr/sbin:/sbin"  # the daemons live there; a non-login root shell may lack it

STATE=${TRAINABILITY_SLURM_DIR:-/var/tmp/trainability-slurm}
CONF=/etc/slurm/slurm.conf
MARKER="# Written by trainability's tests/slurm/cluster.sh"
PARTITION=test
MEMORY_MARGIN_MB=1024
IDLE_TIMEOUT_S=${TRAINABILITY_SLURM_IDLE_TIMEOUT:-60}
FAKE_GPUS=${TRAINABILITY_SLURM_FAKE_GPUS:-0}
GRES_CONF=/etc/slurm/gres.conf

cannot() {
    echo "cannot start a Slurm cluster here: $*" >&2
    exit 3
}

log_tail() {
    local file
    for file in "$STATE"/log/*.log; do
        [ -s "$file" ] && { echo "--- $file"; tail -n 5 "$file"; }
    done
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

stop_pidfile() {
    # Stop the daemon whose PID is in $1 (TERM, then KILL after 15 s) and remove the file.
    local pidfile=$1 pid i
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile" 2>/dev/null)
    if pid_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        for i in $(seq 1 30); do
            pid_alive "$pid" || break
            sleep 0.5
        done
        pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$pidfile"
}

write_config() {
    local host cpus mem_kb memory
    host=$(hostname -s)
    cpus=$(nproc --all)
    mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
    memory=$(( mem_kb / 1024 - MEMORY_MARGIN_MB ))
    [ "$memory" -gt 1024 ] || cannot "only $(( mem_kb / 1024 )) MB of memory"
    local node_gres="" gres_types=""
    if [ "$FAKE_GPUS" -gt 0 ]; then
        node_gres=" Gres=gpu:fake:$FAKE_GPUS"
        gres_types="GresTypes=gpu"
    fi
    mkdir -p /etc/slurm "$STATE"/{log,run,spool/slurmd,spool/slurmctld}
    cat > "$CONF" <<EOF
$MARKER: a one-node test cluster.
# It is removed by \`cluster.sh stop\`; do not edit.
ClusterName=trainability-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge=600
KillWait=5
$gres_types
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
StateSaveLocation=$STATE/spool/slurmctld
SlurmdSpoolDir=$STATE/spool/slurmd
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN$node_gres
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    if [ "$FAKE_GPUS" -gt 0 ]; then
        local i
        for i in $(seq 0 $(( FAKE_GPUS - 1 ))); do
            touch "$STATE/run/fakegpu$i"
        done
        cat > "$GRES_CONF" <<EOF
$MARKER: $FAKE_GPUS pretend GPUs of type "fake"
NodeName=$host Name=gpu Type=fake File=$STATE/run/fakegpu[0-$(( FAKE_GPUS - 1 ))]
EOF
    fi
}

start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return 0  # a munged already answers: use it, and leave it running afterwards
    fi
    if [ ! -s /etc/munge/munge.key ]; then
        mkdir -p /etc/munge
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
        chown munge:munge /etc/munge/munge.key 2>/dev/null
        chmod 0400 /etc/munge/munge.key
    fi
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null
    if id munge >/dev/null 2>&1; then
        runuser -u munge -- munged || cannot "munged failed to start (see /var/log/munge)"
    else
        munged --force || cannot "munged failed to start (see /var/log/munge)"
    fi
    cp /run/munge/munged.pid "$STATE/run/munged.pid" 2>/dev/null
    local i
    for i in $(seq 1 20); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    cannot "munged started but does not answer"
}

start() {
    [ "$(id -u)" -eq 0 ] || cannot "not root (the daemons are started by hand as root)"
    local tool
    for tool in munged munge unmunge slurmctld slurmd sinfo sbatch squeue scontrol; do
        command -v "$tool" >/dev/null \
            || cannot "$tool not found (apt-get install -y slurm-wlm munge)"
    done
    local file
    for file in "$CONF" "$GRES_CONF"; do
        if [ -f "$file" ] && ! grep -qF "$MARKER" "$file"; then
            cannot "$file exists and was not written by this script; not touching it"
        fi
    done
    if pid_alive "$(cat "$STATE/run/slurmctld.pid" 2>/dev/null)"; then
        stop  # a cluster of ours from an earlier, interrupted run
    fi
    if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
        cannot "a slurmctld or slurmd not started by this script is running"
    fi
    rm -rf "$STATE"
    write_config
    start_munge
    slurmctld -c -i || { log_tail >&2; cannot "slurmctld failed to start"; }
    slurmd -c || { log_tail >&2; cannot "slurmd failed to start"; }
    local i state=""
    for i in $(seq 1 $(( IDLE_TIMEOUT_S * 2 ))); do
        state=$(sinfo -h -N -p "$PARTITION" -o %T 2>/dev/null | head -n 1)
        [ "$state" = idle ] && { sinfo; return 0; }
        sleep 0.5
    done
    log_tail >&2
    stop >/dev/null 2>&1
    cannot "the node never became idle in ${IDLE_TIMEOUT_S} s (last state: '${state:-none}')"
}

stop() {
    stop_pidfile "$STATE/run/slurmd.pid"
    stop_pidfile "$STATE/run/slurmctld.pid"
    stop_pidfile "$STATE/run/munged.pid"  # only there when this script started munged
    local file
    for file in "$CONF" "$GRES_CONF"; do
        if [ -f "$file" ] && grep -qF "$MARKER" "$file"; then
            rm -f "$file"
        fi
    done
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) sinfo ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
