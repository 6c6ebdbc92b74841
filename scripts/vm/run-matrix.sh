#!/usr/bin/env bash
# Runs one command as root inside qemu VMs booting Debian's stock cloud kernels,
# one kernel after another, and fails naming each kernel where it did not pass.
#   scripts/vm/run-matrix.sh [--kernels 5.10,6.1,6.12] [--timeout 600] [--include PATH]...
#       [--env NAME=VALUE]... [--cwd DIR] [--modules overlay,loop,...] [--cpu max]
#       [--memory 2048] [--append "KERNEL ARGS"] [--compress none|gzip|zstd]
#       [--tmp tmpfs|ext4] [--tcg-thread single|multi] [--log-dir DIR] -- COMMAND [ARGS...]
# The console of each VM is streamed prefixed with "[<kernel>] " and kept in
# <log-dir>/<kernel>.log. A kernel FAILs when COMMAND exits non-zero, the kernel
# panics, the VM dies without reporting, or --timeout seconds pass (TCG, no KVM).
# --include/--env/--cwd go to build-initramfs.sh (COMMAND given as a host path
# is included by itself); --modules loads those modules of each kernel first.
# --tmp ext4 puts /tmp on a fresh 1 GiB ext4 virtio disk per kernel (default:
# tmpfs), for code that behaves differently on a disk file system.
# --tcg-thread multi emulates each vCPU on its own host thread (default: both
# on one; see run_kernel for why).
# Exit status: 0 when every kernel passed, 1 otherwise.
set -euo pipefail
VM_PROG=run-matrix
VM_DIR=$(cd "$(dirname "$0")" && pwd -P)
. "$VM_DIR/common.sh"

# Kernel command line: serial console, reboot (= qemu exits, -no-reboot) at
# once on panic, and the BPF LSM enabled for lsm/ programs.
BASE_APPEND="console=ttyS0 panic=-1 quiet lsm=lockdown,capability,bpf"

usage() {
  sed -n '2,18s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

# Module file of NAME (dashes and underscores are the same in module names).
module_path() {
  local dep=$1 name=${2//-/_}
  awk -F: -v want="$name" '{
      base = $1; sub(/.*\//, "", base); sub(/\.ko(\.(xz|zst|gz))?$/, "", base); gsub(/-/, "_", base)
      if (base == want) { print $1; exit }
    }' "$dep"
}

# Appends PATH's dependencies, then PATH, to the load order (depth first).
add_module() {
  local moddir=$1 rel=$2 dep
  [[ " ${MODULE_ORDER[*]-} " == *" $rel "* ]] && return 0
  # modules.dep paths hold no blanks: word splitting is the parser here.
  # shellcheck disable=SC2013
  for dep in $(awk -F: -v want="$rel" '$1 == want { print $2; exit }' "$moddir/modules.dep"); do
    add_module "$moddir" "$dep"
  done
  MODULE_ORDER+=("$rel")
}

# A second, per-kernel cpio with the requested modules (decompressed: busybox
# insmod takes plain .ko) and their load order; the kernel unpacks concatenated
# archives in sequence, so it is appended to the shared image.
build_modules_archive() {
  local series=$1 modules=$2 out=$3 kdir release moddir name rel stage base
  kdir=$(vm_kernel_dir "$series")
  release=$(cat "$kdir/release")
  moddir="$kdir/lib/modules/$release"
  MODULE_ORDER=()
  for name in ${modules//,/ }; do
    rel=$(module_path "$moddir/modules.dep" "$name")
    if [ -z "$rel" ]; then
      # Built into this kernel (virtio_pci on 6.12): nothing to load.
      [ -n "$(module_path "$moddir/modules.builtin" "$name")" ] && continue
      vm_die "$series: no module '$name' in $moddir"
    fi
    add_module "$moddir" "$rel"
  done
  stage=$(mktemp -d "$WORK/modules-$series.XXXXXX")
  mkdir -p "$stage/fsprobe-vm/modules" "$stage/etc/fsprobe-vm"
  for rel in "${MODULE_ORDER[@]}"; do
    base=$(basename "$rel")
    case "$rel" in
      *.ko.xz) xz -dc "$moddir/$rel" >"$stage/fsprobe-vm/modules/${base%.xz}" ;;
      *.ko.zst) zstd -qdc "$moddir/$rel" >"$stage/fsprobe-vm/modules/${base%.zst}" ;;
      *.ko.gz) gzip -dc "$moddir/$rel" >"$stage/fsprobe-vm/modules/${base%.gz}" ;;
      *) cp "$moddir/$rel" "$stage/fsprobe-vm/modules/$base" ;;
    esac || vm_die "$series: unpacking module $rel failed"
    echo "/fsprobe-vm/modules/${base%.ko*}.ko" >>"$stage/etc/fsprobe-vm/modules"
  done
  (cd "$stage" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
    cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) | gzip -6 -n >"$out" ||
    vm_die "$series: packing modules archive $out failed"
  rm -rf "$stage"
}

# A fresh sparse ext4 image for one VM's /tmp; inode tables are written here on
# the host so the guest's lazy-init thread does not compete under TCG.
make_tmp_disk() {
  rm -f "$1"
  truncate -s 1G "$1"
  mkfs.ext4 -q -F -L fsprobe-tmp -E lazy_itable_init=0,lazy_journal_init=0 "$1" ||
    vm_die "mkfs.ext4 of $1 failed"
}

# Copies the console to the log and to stdout with the kernel's prefix, and
# records when /init reached the command (boot time) from the start marker.
stream_console() {
  local series=$1 log=$2 t0=$3 line
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    printf '%s\n' "$line" >>"$log"
    printf '[%s] %s\n' "$series" "$line"
    case "$line" in
      *FSPROBE-VM-START:*) awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", b - a }' >"$log.boot" ;;
    esac
  done
}

# Boots one kernel and sets RESULT to "PASS ..." or "FAIL <reason>".
run_kernel() {
  local series=$1 kdir initrd log t0 elapsed rc status panic release started boot
  kdir=$(vm_kernel_dir "$series")
  release=$(cat "$kdir/release")
  initrd=$BASE_INITRD
  local modules=$MODULES append=$BASE_APPEND
  local -a disk=()
  if [ "$TMP_FS" = ext4 ]; then
    make_tmp_disk "$WORK/tmp-$series.img"
    disk=(-drive "file=$WORK/tmp-$series.img,format=raw,if=virtio,cache=unsafe")
    # virtio-pci is a module on 5.10 and 6.1 (built in on 6.12).
    modules="virtio_pci,virtio_blk${modules:+,$modules}"
    append="$append fsprobe.tmp=/dev/vda"
  fi
  [ -n "$APPEND" ] && append="$append $APPEND"
  if [ -n "$modules" ]; then
    build_modules_archive "$series" "$modules" "$WORK/modules-$series.cpio.gz"
    initrd="$WORK/initrd-$series.img"
    cat "$BASE_INITRD" "$WORK/modules-$series.cpio.gz" >"$initrd"
  fi
  log="$LOG_DIR/$series.log"
  : >"$log"
  rm -f "$log.boot"
  vm_log "$series: booting $release (timeout ${TIMEOUT}s)"
  t0=$EPOCHREALTIME
  set +e
  # One emulation thread for both vCPUs (the default): with multi-threaded
  # TCG, a vCPU can execute a breakpoint byte the kernel's text patching
  # (static keys, as attaching a tracepoint flips) has already removed, and
  # the guest dies with "Oops: int3". Round-robin vCPUs keep SMP semantics
  # without the race, but give the VM one host CPU's worth of time: a
  # benchmark that needs two CPUs working at once asks for --tcg-thread multi.
  timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel "tcg,thread=$TCG_THREAD" \
    -cpu "$CPU" -m "$MEMORY" -smp 2 -nographic -no-reboot -nic none \
    -kernel "$kdir/vmlinuz" -initrd "$initrd" "${disk[@]}" \
    -append "$append" </dev/null 2>&1 |
    sed -u -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[()][0-9A-Za-z]//g' -e 's/\x1bc//g' -e 's/\r$//' |
    stream_console "$series" "$log" "$t0"
  rc=${PIPESTATUS[0]}
  set -e
  elapsed=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  boot=$(cat "$log.boot" 2>/dev/null || echo "?")
  rm -f "$log.boot"
  if [ "$initrd" != "$BASE_INITRD" ]; then rm -f "$initrd"; fi
  rm -f "$WORK/tmp-$series.img"

  status=$(grep -a -o 'FSPROBE-VM-EXIT: [0-9]*' "$log" | tail -n 1 | sed 's/.*: //') || true
  started=$(grep -a -o 'FSPROBE-VM-START: [^ ]*' "$log" | tail -n 1 | sed 's/.*: //') || true
  panic=$(grep -a -m 1 -o 'Kernel panic.*' "$log") || true
  if [ -n "$panic" ]; then
    RESULT="FAIL ${panic} (after ${elapsed}s)"
  elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    RESULT="FAIL timeout after ${TIMEOUT}s${status:+ (command had exited $status)}"
  elif [ -z "$status" ]; then
    RESULT="FAIL VM died without reporting (qemu exit $rc after ${elapsed}s)"
  elif [ "$started" != "$release" ]; then
    RESULT="FAIL booted '$started' instead of $release"
  elif [ "$status" != 0 ]; then
    RESULT="FAIL command exited $status (after ${elapsed}s)"
  elif [ "$rc" != 0 ]; then
    RESULT="FAIL qemu exited $rc after the command passed"
  else
    RESULT="PASS in ${elapsed}s (boot ${boot}s)"
  fi
}

main() {
  local kernels=$VM_ALL_KERNELS series failed="" keep_log_dir=0
  # Uncompressed by default: the image lives for one run, and packing plus
  # unpacking under TCG costs more than it saves (measured: 88 MB Swift test
  # image, gzip 4.3 s build + 4.3 s boot, none 1.1 s + 3.1 s).
  local -a build_args=(--compress none) summary=()
  TIMEOUT=600 CPU=max MEMORY=2048 TCG_THREAD=single APPEND="" MODULES="" LOG_DIR="" TMP_FS=tmpfs
  while [ $# -gt 0 ]; do
    case "$1" in
      --kernels) [ $# -ge 2 ] || usage; kernels=$(vm_parse_kernel_list "$2"); shift 2 ;;
      --timeout) [ $# -ge 2 ] || usage; TIMEOUT=$2; shift 2 ;;
      --include | --env | --cwd | --compress) [ $# -ge 2 ] || usage; build_args+=("$1" "$2"); shift 2 ;;
      --modules) [ $# -ge 2 ] || usage; MODULES=$2; shift 2 ;;
      --cpu) [ $# -ge 2 ] || usage; CPU=$2; shift 2 ;;
      --memory) [ $# -ge 2 ] || usage; MEMORY=$2; shift 2 ;;
      --tcg-thread) [ $# -ge 2 ] || usage; TCG_THREAD=$2; shift 2 ;;
      --append) [ $# -ge 2 ] || usage; APPEND=$2; shift 2 ;;
      --tmp) [ $# -ge 2 ] || usage; TMP_FS=$2; shift 2 ;;
      --log-dir) [ $# -ge 2 ] || usage; LOG_DIR=$2; keep_log_dir=1; shift 2 ;;
      --) shift; break ;;
      -h | --help) usage ;;
      *) vm_die "unknown argument '$1' (see --help)" ;;
    esac
  done
  [ $# -gt 0 ] || vm_die "missing -- COMMAND (see --help)"
  [[ "$TIMEOUT" =~ ^[0-9]+$ ]] || vm_die "--timeout wants seconds, got '$TIMEOUT'"
  case "$TMP_FS" in tmpfs | ext4) ;; *) vm_die "--tmp wants tmpfs or ext4, got '$TMP_FS'" ;; esac
  case "$TCG_THREAD" in single | multi) ;; *) vm_die "--tcg-thread wants single or multi, got '$TCG_THREAD'" ;; esac

  "$VM_DIR/fetch-kernels.sh" --kernels "${kernels// /,}"
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/fsprobe-vm-run.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  [ -n "$LOG_DIR" ] || LOG_DIR="$WORK/logs"
  mkdir -p "$LOG_DIR"
  BASE_INITRD="$WORK/initrd.img"
  "$VM_DIR/build-initramfs.sh" -o "$BASE_INITRD" "${build_args[@]}" -- "$@"

  for series in $kernels; do
    run_kernel "$series"
    summary+=("run-matrix: $series ($(cat "$(vm_kernel_dir "$series")/release")): $RESULT")
    [[ "$RESULT" == PASS* ]] || failed="$failed $series"
  done
  printf '%s\n' "${summary[@]}"
  # The logs of a failed run outlive the work dir, for a closer look.
  if [ -n "$failed" ] && [ "$keep_log_dir" = 0 ]; then
    LOG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/fsprobe-vm-logs.XXXXXX")
    cp "$WORK"/logs/*.log "$LOG_DIR"/
    keep_log_dir=1
  fi
  [ "$keep_log_dir" = 1 ] && echo "run-matrix: console logs in $LOG_DIR"
  if [ -n "$failed" ]; then
    echo "run-matrix: FAILED on${failed}" >&2
    return 1
  fi
  echo "run-matrix: all passed ($kernels)"
}

main "$@"
