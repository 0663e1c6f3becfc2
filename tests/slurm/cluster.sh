#!/usr/bin/env bash
# A private one-node Slurm cluster on this host, for tests/test_slurm.py (usable by hand too).
#
#   tests/slurm/cluster.sh start [DIR]   start munged, slurmctld and slurmd as root, all of
#                                        them private to DIR (default: a new
#                                        /var/tmp/trainability-slurm.XXXXXX); wait until the
#                                        node is idle; the last line of stdout is
#                                        `export SLURM_CONF=DIR/slurm.conf PATH=DIR/bin:$PATH`
#   tests/slurm/cluster.sh stop [DIR]    cancel its jobs, stop its daemons by PID (TERM, then
#                                        KILL), end what its jobs left running; keep DIR's logs
#   tests/slurm/cluster.sh clean [DIR]   stop, then remove DIR
#   tests/slurm/cluster.sh status [DIR]  sinfo and squeue of that cluster
#   tests/slurm/cluster.sh logs [DIR]    the last lines of its daemons' logs
#
# DIR defaults to the directory of $SLURM_CONF for all but `start`. Slurm's clients (sbatch,
# squeue, scontrol, srun, and so Snakemake's Slurm executor) find the cluster through
# SLURM_CONF; DIR/bin holds the clients pinned to it (for the jobs: see write_clients).
#
# Nothing is shared with any other Slurm on the machine, so that two test sessions (or a
# site's own Slurm) can run side by side: no file in /etc/slurm is read or written; the
# config, gres.conf, state, spool, PID files and logs are in DIR; the ports of slurmctld and
# slurmd are picked free at start (not 6817/6818); munged is its own, with its own key and
# socket (AuthInfo=socket=...). Nothing needs DNS either: the controller and the node are
# reached at 127.0.0.1 (SlurmctldHost=<host>(127.0.0.1), NodeAddr=127.0.0.1), and a client
# always finds the config file, so it never falls back to Slurm's "configless" DNS SRV lookup
# ("fetch_config: DNS SRV lookup failed" is what a client prints when it finds no
# slurm.conf: in the past the test shared /etc/slurm/slurm.conf with another session's
# cluster, whose `stop` deleted it).
#
# Needs root and Debian's packages: apt-get install -y slurm-wlm munge
# The node has this host's CPUs (TRAINABILITY_SLURM_CPUS=N declares N instead) and its
# memory minus a margin, in one partition, `test` (the default). Accounting is off, so
# Snakemake's Slurm executor must query job states with squeue (slurm-status-command:
# squeue); MinJobAge keeps finished jobs visible to squeue and scontrol for 10 minutes.
# TRAINABILITY_SLURM_FAKE_GPUS=N declares N pretend GPUs (GRES gpu:fake:N, empty files as
# their devices) so that jobs asking for GPUs (--gpus, --gres) are scheduled and run; nothing
# in them can use CUDA.
#
# Exit status of `start`: 0 when the node is idle; 3 when no cluster can be brought up here
# (not root, packages absent, too little memory), with one line on stderr starting "cannot
# start a Slurm cluster here:" (the test skips with that line); 1 when a daemon failed to
# start or to answer in time, after the tails of the daemons' logs on stderr and after
# stopping what it had started (the test fails with that output).
set -uo pipefail
export PATH="$PATH:/usr/sbin:/sbin"  # the daemons live there; a non-login root shell may lack it
# Leave out of PATH any DIR/bin of a cluster of this script (see write_clients): its clients
# would talk to that cluster.
path=""
IFS=: read -r -a path_entries <<< "$PATH"
for entry in "${path_entries[@]}"; do
    grep -qsF "(tests/slurm/cluster.sh)" "$entry/srun" || path+="${path:+:}$entry"
done
export PATH=$path
unset path path_entries entry

PARTITION=test
MEMORY_MARGIN_MB=1024
MUNGE_TIMEOUT_S=10
CTLD_TIMEOUT_S=${TRAINABILITY_SLURM_CTLD_TIMEOUT:-30}
IDLE_TIMEOUT_S=${TRAINABILITY_SLURM_IDLE_TIMEOUT:-60}
STOP_TIMEOUT_S=15
FAKE_GPUS=${TRAINABILITY_SLURM_FAKE_GPUS:-0}
NODE_CPUS=${TRAINABILITY_SLURM_CPUS:-}

cannot() {
    echo "cannot start a Slurm cluster here: $*" >&2
    exit 3
}

paths() {  # set the file names of the cluster in directory $1
    DIR=$(cd "$1" 2>/dev/null && pwd) || { echo "cluster.sh: no directory $1" >&2; exit 2; }
    CONF=$DIR/slurm.conf
    GRES_CONF=$DIR/gres.conf  # Slurm reads gres.conf from slurm.conf's directory
    MUNGE_SOCKET=$DIR/munge/munge.socket
}

dir_argument() {  # DIR from the command line, else from $SLURM_CONF
    if [ -n "${1:-}" ]; then
        paths "$1"
    elif [ -n "${SLURM_CONF:-}" ]; then
        paths "$(dirname "$SLURM_CONF")"
    else
        echo "cluster.sh: which cluster? give its directory, or set SLURM_CONF" >&2
        exit 2
    fi
}

slurm() { SLURM_CONF=$CONF timeout 20 "$@"; }  # a client command of this cluster

log_tail() {  # the last $1 lines of each daemon log
    local file
    for file in "$DIR"/log/slurmctld.log "$DIR"/log/slurmd.log "$DIR"/munge/munged.log; do
        [ -s "$file" ] && { echo "--- last ${1:-20} lines of $file"; tail -n "${1:-20}" "$file"; }
    done
}

failed() {  # a daemon did not start or answer: say so with the logs, stop the rest, exit 1
    echo "cluster.sh start: $*" >&2
    log_tail 25 >&2
    stop_cluster >/dev/null 2>&1
    echo "cluster.sh start: $* (logs in $DIR/log)" >&2
    exit 1
}

pid_of() { cat "$1" 2>/dev/null; }
pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

stop_pid() {  # TERM $1, KILL it after STOP_TIMEOUT_S
    local pid=$1 i
    pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 $(( STOP_TIMEOUT_S * 5 ))); do
        pid_alive "$pid" || return 0
        sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null
}

port_taken() {  # is any TCP socket (IPv4 or IPv6, any state) bound to port $1?
    local hex
    hex=$(printf ':%04X' "$1")
    awk -v port="$hex" 'FNR > 1 && substr($2, length($2) - 4) == port { found = 1 }
                        END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

free_port() {  # a port in 20000-31999 (below Linux's ephemeral range) that nothing uses
    local port i
    for i in $(seq 1 500); do
        port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12000 ))
        [ "$port" != "${1:-}" ] && ! port_taken "$port" && { echo "$port"; return 0; }
    done
    return 1
}

write_config() {
    local host cpus mem_kb memory ctld_port slurmd_port
    host=$(hostname -s)
    [ -n "$host" ] || cannot "hostname -s is empty"
    cpus=${NODE_CPUS:-$(nproc --all)}
    mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
    memory=$(( mem_kb / 1024 - MEMORY_MARGIN_MB ))
    [ "$memory" -gt 1024 ] || cannot "only $(( mem_kb / 1024 )) MB of memory"
    ctld_port=$(free_port) || failed "no free TCP port for slurmctld"
    slurmd_port=$(free_port "$ctld_port") || failed "no free TCP port for slurmd"
    local node_gres="" gres_types=""
    if [ "$FAKE_GPUS" -gt 0 ]; then
        node_gres=" Gres=gpu:fake:$FAKE_GPUS"
        gres_types="GresTypes=gpu"
    fi
    mkdir -p "$DIR"/{log,run,spool/slurmd,spool/slurmctld}
    cat > "$CONF" <<EOF
# A private one-node test cluster, written by trainability's tests/slurm/cluster.sh.
ClusterName=trainability-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
ReturnToService=2
MinJobAge=600
KillWait=5
$gres_types
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
StateSaveLocation=$DIR/spool/slurmctld
SlurmdSpoolDir=$DIR/spool/slurmd
NodeName=$host NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN$node_gres
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    NODE=$host
    if [ "$FAKE_GPUS" -gt 0 ]; then
        local i
        for i in $(seq 0 $(( FAKE_GPUS - 1 ))); do
            touch "$DIR/run/fakegpu$i"
        done
        cat > "$GRES_CONF" <<EOF
# $FAKE_GPUS pretend GPUs of type "fake", written by trainability's tests/slurm/cluster.sh.
NodeName=$host Name=gpu Type=fake File=$DIR/run/fakegpu[0-$(( FAKE_GPUS - 1 ))]
EOF
    fi
}

write_clients() {
    # DIR/bin: Slurm's client commands, each pinned to this cluster's config. Jobs need them:
    # snakemake-executor-plugin-slurm-jobstep (0.6.1) drops every SLURM_* variable but the
    # job's identity, SLURM_CONF included, before it runs `srun` inside a job, and srun then
    # looks for /etc/slurm/slurm.conf and then for a controller in DNS ("fetch_config: DNS SRV
    # lookup failed"). With DIR/bin first in PATH (sbatch passes PATH on to the jobs), `srun`
    # is this one.
    local tool real
    mkdir -p "$DIR/bin"
    for tool in srun sbatch squeue scontrol scancel sinfo sacct; do
        real=$(command -v "$tool") || continue
        printf '#!/bin/sh\n# %s of the test cluster in %s (tests/slurm/cluster.sh)\n%s\n' \
            "$tool" "$DIR" "SLURM_CONF=$CONF exec $real \"\$@\"" > "$DIR/bin/$tool"
        chmod 0755 "$DIR/bin/$tool"
    done
}

munge_answers() { munge -n --socket="$MUNGE_SOCKET" 2>/dev/null \
    | unmunge --socket="$MUNGE_SOCKET" >/dev/null 2>&1; }

start_munge() {
    # A munged of our own: a system one (if any) may be stopped or restarted under us.
    local key=$DIR/munge/munge.key i
    mkdir -p "$DIR/munge"
    chmod 0755 "$DIR/munge"  # munged wants its socket's directory searchable by all
    dd if=/dev/urandom of="$key" bs=1024 count=1 status=none || failed "cannot write $key"
    chmod 0400 "$key"
    munged --socket="$MUNGE_SOCKET" --key-file="$key" --pid-file="$DIR/munge/munged.pid" \
        --log-file="$DIR/munge/munged.log" --seed-file="$DIR/munge/munged.seed" \
        || failed "munged failed to start"
    for i in $(seq 1 $(( MUNGE_TIMEOUT_S * 5 ))); do
        munge_answers && return 0
        sleep 0.2
    done
    failed "munged does not answer on $MUNGE_SOCKET after ${MUNGE_TIMEOUT_S} s"
}

start() {
    [ "$(id -u)" -eq 0 ] || cannot "not root (the daemons are started by hand as root)"
    local tool
    for tool in munged munge unmunge slurmctld slurmd sinfo sbatch squeue scontrol scancel \
                srun; do
        command -v "$tool" >/dev/null \
            || cannot "$tool not found (apt-get install -y slurm-wlm munge)"
    done
    if [ -n "${1:-}" ]; then
        mkdir -p "$1" || cannot "cannot create $1"
        paths "$1"
    else
        paths "$(mktemp -d /var/tmp/trainability-slurm.XXXXXX)" || cannot "cannot write /var/tmp"
    fi
    if pid_alive "$(pid_of "$DIR/run/slurmctld.pid")"; then
        echo "cluster.sh start: a cluster already runs in $DIR; stop it first" >&2
        exit 1
    fi
    chmod 0755 "$DIR"  # see start_munge; the jobs (root's) need nothing else
    write_config
    write_clients
    start_munge
    # slurmd's children (slurmstepd) keep it: `stop` finds what they leave behind by it
    export SLURM_CONF=$CONF

    slurmctld -f "$CONF" -c -i || failed "slurmctld failed to start"
    local i state="" pid
    for i in $(seq 1 $(( CTLD_TIMEOUT_S * 5 ))); do
        slurm scontrol ping 2>/dev/null | grep -q "is UP" && break
        pid=$(pid_of "$DIR/run/slurmctld.pid")
        [ -n "$pid" ] && ! pid_alive "$pid" && failed "slurmctld exited"
        [ "$i" -eq $(( CTLD_TIMEOUT_S * 5 )) ] \
            && failed "slurmctld does not answer after ${CTLD_TIMEOUT_S} s"
        sleep 0.2
    done

    slurmd -f "$CONF" -N "$NODE" || failed "slurmd failed to start"
    for i in $(seq 1 $(( IDLE_TIMEOUT_S * 5 ))); do
        state=$(slurm sinfo -h -N -p "$PARTITION" -o %T 2>/dev/null | head -n 1)
        if [ "$state" = idle ]; then
            slurm sinfo -N -o "%N %T %c %m %G"
            echo "export SLURM_CONF=$CONF PATH=$DIR/bin:\$PATH"
            return 0
        fi
        pid=$(pid_of "$DIR/run/slurmd.pid")
        [ -n "$pid" ] && ! pid_alive "$pid" && failed "slurmd exited (node state '${state:-none}')"
        sleep 0.2
    done
    failed "the node never became idle in ${IDLE_TIMEOUT_S} s (last state: '${state:-none}')"
}

leftover_pids() {
    # Processes started through this cluster (slurmstepd, job steps, anything a job left
    # behind) carry SLURM_CONF=$CONF in their environment; this script and its callers
    # (a shell where SLURM_CONF is exported) are not counted.
    local keep=" $$ ${BASHPID:-$$} " pid=$$ environ
    while [ -n "$pid" ] && [ "$pid" -gt 1 ]; do
        pid=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
        keep+="$pid "
    done
    for environ in $(grep -lszxF "SLURM_CONF=$CONF" /proc/[0-9]*/environ); do
        pid=${environ#/proc/}
        pid=${pid%/environ}
        case "$keep" in *" $pid "*) ;; *) echo "$pid" ;; esac
    done
}

stop_cluster() {
    local ids i pid
    if pid_alive "$(pid_of "$DIR/run/slurmctld.pid")"; then
        # Cancel every job, so that slurmd's job steps end with it.
        ids=$(slurm squeue -h -t PD,R,CG,S,CF -o %i 2>/dev/null | tr '\n' ' ')
        if [ -n "${ids// /}" ]; then
            echo "cancelling jobs $ids"
            # shellcheck disable=SC2086
            slurm scancel $ids 2>/dev/null
            for i in $(seq 1 $(( STOP_TIMEOUT_S * 5 ))); do
                [ -z "$(slurm squeue -h -t PD,R,CG,S,CF -o %i 2>/dev/null)" ] && break
                sleep 0.2
            done
        fi
    fi
    stop_pid "$(pid_of "$DIR/run/slurmd.pid")"
    stop_pid "$(pid_of "$DIR/run/slurmctld.pid")"
    for pid in $(leftover_pids); do
        echo "ending process $pid, left by a job: $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c 1-120)"
        kill -TERM "$pid" 2>/dev/null
    done
    sleep 0.5
    for pid in $(leftover_pids); do
        kill -KILL "$pid" 2>/dev/null
    done
    stop_pid "$(pid_of "$DIR/munge/munged.pid")"
    rm -f "$DIR/run/slurmd.pid" "$DIR/run/slurmctld.pid" "$DIR/munge/munged.pid"
}

case "${1:-}" in
    start) start "${2:-}" ;;
    stop) dir_argument "${2:-}"; stop_cluster; echo "stopped; logs in $DIR/log" ;;
    clean)
        dir_argument "${2:-}"
        [ -f "$CONF" ] || { echo "cluster.sh: $DIR holds no cluster; not removing it" >&2; exit 2; }
        stop_cluster
        rm -rf "$DIR"
        ;;
    status) dir_argument "${2:-}"; slurm sinfo; slurm squeue ;;
    logs) dir_argument "${2:-}"; log_tail 40 ;;
    *) echo "usage: $0 start [DIR] | stop [DIR] | clean [DIR] | status [DIR] | logs [DIR]" >&2
       exit 2 ;;
esac
