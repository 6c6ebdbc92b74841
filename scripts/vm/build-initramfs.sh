#!/usr/bin/env bash
# Builds the initramfs that the kernel-matrix VMs boot: busybox-static, an /init
# that mounts the kernel file systems, runs one command as root, prints
# "FSPROBE-VM-EXIT: <status>" on the console and powers off.
#   scripts/vm/build-initramfs.sh -o OUT.cpio.gz [--include PATH]... [--env NAME=VALUE]...
#       [--cwd DIR] [--compress gzip|zstd|none] -- COMMAND [ARGS...]
# --include copies a host file or directory to the same path in the image, with
# every shared library ldd reports for it (same paths, symlinks and dynamic
# loader included). COMMAND is run by path inside the VM; when it names a host
# file it is included automatically. Default cwd: /tmp.
set -euo pipefail
VM_PROG=build-initramfs
. "$(dirname "$0")/common.sh"

declare -A COPIED=()
ROOT=""

usage() {
  sed -n '2,10s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

# Single-quotes a word for the generated /bin/sh script.
shell_quote() {
  local s=$1
  printf "'%s'" "${s//\'/\'\\\'\'}"
}

is_elf() {
  [ -f "$1" ] && [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]
}

# Follows merged-/usr on the host (/bin -> usr/bin, /lib64 -> usr/lib64 ...) so
# that binaries, libraries and busybox applets land where the host has them.
mirror_top_level_links() {
  local d
  mkdir -p "$ROOT/usr/bin" "$ROOT/usr/sbin" "$ROOT/usr/lib"
  for d in bin sbin lib lib32 lib64 libx32; do
    if [ -L "/$d" ]; then
      ln -s "$(readlink "/$d")" "$ROOT/$d"
    elif [ -d "/$d" ]; then
      mkdir -p "$ROOT/$d"
    fi
  done
}

# Replicates host path $1 at the same place under $ROOT, recreating each symlink
# met on the way (libfoo.so.1 -> libfoo.so.1.2, /lib64 -> usr/lib64) so the
# dynamic loader finds every library under the name ldd printed. With $2 = scan,
# the libraries of ELF files copied are added too (ldd of the top-level file
# already lists the whole closure, so libraries themselves are not scanned: a
# library alone may not resolve its siblings, e.g. libXCTest.so has no RUNPATH).
copy_path() {
  local path scan=${2:-} depth=${3:-0} prefix="" rest comp link target
  path=$(realpath -ms "$1")
  [ "$depth" -lt 40 ] || vm_die "too many levels of symlinks resolving $1"
  [ -z "${COPIED[$path]:-}" ] || return 0
  [ -e "$path" ] || vm_die "cannot include $path: no such file or directory"
  COPIED[$path]=1
  rest=${path#/}
  while [ -n "$rest" ]; do
    comp=${rest%%/*}
    if [ "$comp" = "$rest" ]; then rest=""; else rest=${rest#*/}; fi
    prefix="$prefix/$comp"
    [ -L "$prefix" ] || continue
    # A real directory already in the image wins: keep copying beneath it.
    if [ -d "$ROOT$prefix" ] && [ ! -L "$ROOT$prefix" ]; then continue; fi
    link=$(readlink "$prefix")
    mkdir -p "$ROOT$(dirname "$prefix")"
    rm -f "$ROOT$prefix"
    ln -s "$link" "$ROOT$prefix"
    case "$link" in /*) target=$link ;; *) target="$(dirname "$prefix")/$link" ;; esac
    copy_path "$target${rest:+/$rest}" "$scan" $((depth + 1))
    return
  done
  if [ -d "$path" ]; then
    mkdir -p "$ROOT$path"
    cp -a "$path/." "$ROOT$path/"
    if [ -n "$scan" ]; then copy_libraries_of_tree "$path"; fi
  else
    mkdir -p "$ROOT$(dirname "$path")"
    cp -a --remove-destination "$path" "$ROOT$path"
    if [ -n "$scan" ] && is_elf "$path"; then copy_libraries "$path" strict; fi
  fi
  return 0
}

# Every library (and the loader) that ldd resolves for one ELF file. For an
# included file ($2 = strict) a missing one is an error now rather than a "not
# found" at run time in the VM; inside an included directory it is only a
# warning (a plugin finds its libraries through the program that loads it).
copy_libraries() {
  local file=$1 strict=${2:-} out lib missing
  # Static executables and non-loadable ELF objects (BPF .o) have no dependencies.
  out=$(ldd "$file" 2>/dev/null) || return 0
  missing=$(grep "not found" <<<"$out" | head -n 1 | tr -s ' \t' ' ') || true
  if [ -n "$missing" ]; then
    [ -n "$strict" ] && vm_die "ldd $file:$missing"
    vm_log "warning: ldd $file:$missing"
  fi
  while IFS= read -r lib; do
    copy_path "$lib"
  done < <(awk '$2 != "=>" || $3 ~ /^\// { for (i = 1; i <= NF; i++) if ($i ~ /^\//) { print $i; break } }' <<<"$out")
}

copy_libraries_of_tree() {
  local file
  while IFS= read -r -d '' file; do
    if is_elf "$file"; then copy_libraries "$file"; fi
  done < <(find "$1" -type f -print0)
}

# busybox-static as /bin/sh and every applet; its own "busybox" applet is
# skipped or /bin/busybox would become a link to itself (init fails, -40).
install_busybox() {
  local busybox applet
  busybox=$(command -v busybox) || vm_die "busybox not found: install busybox-static (scripts/vm/fetch-kernels.sh does)"
  ldd "$busybox" >/dev/null 2>&1 && vm_die "$busybox is dynamically linked: install busybox-static"
  cp "$busybox" "$ROOT/bin/busybox"
  for applet in $("$busybox" --list-full); do
    [ "$applet" = bin/busybox ] && continue
    [ -e "$ROOT/$applet" ] || [ -L "$ROOT/$applet" ] || ln -s /bin/busybox "$ROOT/$applet"
  done
}

# Accounts and name lookups the way glibc programs expect them (getpwuid,
# "localhost"), with a writable /tmp and a home for root.
# The dynamic loader searches only its default directories unless
# /etc/ld.so.cache names others: a library the host found through its cache
# (one built into /usr/local/lib, say) needs one in the image too. The
# image's cache lists the directories of every library copied in.
write_loader_cache() {
  local path
  for path in "${!COPIED[@]}"; do
    case "$path" in *.so | *.so.*) dirname "$path" ;; esac
  done | sort -u >"$ROOT/etc/ld.so.conf"
  ldconfig -r "$ROOT" 2>/dev/null || vm_die "ldconfig could not build the image's loader cache"
}

write_etc() {
  mkdir -p "$ROOT/etc" "$ROOT/root" "$ROOT/tmp" "$ROOT/var/tmp" "$ROOT/run" \
    "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" "$ROOT/mnt"
  chmod 1777 "$ROOT/tmp" "$ROOT/var/tmp"
  chmod 700 "$ROOT/root"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$ROOT/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\nnobody:x:65534:\n' >"$ROOT/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files\n' >"$ROOT/etc/nsswitch.conf"
  printf '127.0.0.1 localhost fsprobe-vm\n::1 localhost ip6-localhost\n' >"$ROOT/etc/hosts"
  echo fsprobe-vm >"$ROOT/etc/hostname"
  # The kernel opens /dev/console from the image before /init mounts devtmpfs.
  mknod -m 600 "$ROOT/dev/console" c 5 1
  mknod -m 666 "$ROOT/dev/null" c 1 3
}

# The command as a /bin/sh script: environment, working directory, exec.
write_command() {
  local cwd=$1 var
  shift
  mkdir -p "$ROOT/etc/fsprobe-vm"
  {
    echo '#!/bin/sh'
    for var in "${ENVS[@]}"; do
      echo "export ${var%%=*}=$(shell_quote "${var#*=}")"
    done
    echo "cd $(shell_quote "$cwd") || exit 125"
    printf 'exec'
    for var in "$@"; do printf ' %s' "$(shell_quote "$var")"; done
    echo
  } >"$ROOT/etc/fsprobe-vm/command"
  chmod 755 "$ROOT/etc/fsprobe-vm/command"
}

write_init() {
  cat >"$ROOT/init" <<'EOF'
#!/bin/sh
# /init of the fsprobe kernel-matrix VM (generated by scripts/vm/build-initramfs.sh).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
mount -t bpf bpf /sys/fs/bpf || echo "FSPROBE-VM: mounting bpffs failed"
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
ip link set lo up
hostname fsprobe-vm
# Modules appended per kernel by run-matrix.sh --modules, in dependency order.
if [ -f /etc/fsprobe-vm/modules ]; then
  while read -r module; do
    insmod "$module" || echo "FSPROBE-VM: insmod $module failed"
  done </etc/fsprobe-vm/modules
fi
# /tmp is its own file system, as on a real machine (not the rootfs): a tmpfs,
# or the block device named by "fsprobe.tmp=DEV" on the kernel command line
# (run-matrix.sh --tmp ext4). Files the image put under /tmp are moved onto it.
tmp_dev=$(sed -n 's/.*fsprobe\.tmp=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$(ls -A /tmp)" ]; then
  mv /tmp /.tmp-image && mkdir -m 1777 /tmp
fi
if [ -n "$tmp_dev" ]; then
  waited=0
  while [ ! -b "$tmp_dev" ] && [ "$waited" -lt 50 ]; do sleep 0.1; waited=$((waited + 1)); done
  mount "$tmp_dev" /tmp || echo "FSPROBE-VM: mounting $tmp_dev on /tmp failed"
  chmod 1777 /tmp
else
  mount -t tmpfs -o mode=1777 tmpfs /tmp
fi
if [ -d /.tmp-image ]; then
  cp -a /.tmp-image/. /tmp/ && rm -rf /.tmp-image
fi
echo "FSPROBE-VM-START: $(uname -r)"
boot_messages=$(dmesg | wc -l)
/bin/sh /etc/fsprobe-vm/command </dev/null
status=$?
# On failure, what the kernel said while the command ran (verifier, oops ...).
if [ "$status" != 0 ]; then
  echo "FSPROBE-VM: command failed with status $status; kernel messages since it started:"
  dmesg | tail -n +$((boot_messages + 1)) | tail -n 50
fi
sync
printf '\nFSPROBE-VM-EXIT: %s\n' "$status"
poweroff -f
EOF
  chmod 755 "$ROOT/init"
}

# newc cpio owned by root, entries sorted so identical inputs give identical archives.
pack() {
  local out=$1 compress=$2
  local -a comp
  case "$compress" in
    gzip) comp=(gzip -6 -n) ;;
    zstd) comp=(zstd -q -T0 -10 --stdout) ;;
    none) comp=(cat) ;;
    *) vm_die "unknown --compress '$compress' (gzip, zstd, none)" ;;
  esac
  (cd "$ROOT" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
    cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
    "${comp[@]}" >"$out.tmp" || vm_die "packing $ROOT into $out failed"
  mv "$out.tmp" "$out"
}

main() {
  local out="" cwd=/tmp compress=gzip inc auto_include=""
  local -a includes=()
  ENVS=()
  while [ $# -gt 0 ]; do
    case "$1" in
      -o | --output) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
      --include) [ $# -ge 2 ] || usage; includes+=("$2"); shift 2 ;;
      --env)
        [ $# -ge 2 ] || usage
        [[ "$2" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || vm_die "--env wants NAME=VALUE, got '$2'"
        ENVS+=("$2"); shift 2 ;;
      --cwd) [ $# -ge 2 ] || usage; cwd=$2; shift 2 ;;
      --compress) [ $# -ge 2 ] || usage; compress=$2; shift 2 ;;
      --) shift; break ;;
      -h | --help) usage ;;
      *) vm_die "unknown argument '$1' (see --help)" ;;
    esac
  done
  [ -n "$out" ] || vm_die "missing -o OUT.cpio.gz"
  [ $# -gt 0 ] || vm_die "missing -- COMMAND"
  command -v cpio >/dev/null || vm_die "cpio not found: install it (scripts/vm/fetch-kernels.sh does)"
  [ "$(id -u)" = 0 ] || vm_die "must run as root (device nodes in the image)"
  # A command given as a host path is part of the image without saying so
  # (made absolute, since the VM runs it from --cwd), unless the image has it
  # already (/bin/sh stays busybox's).
  if [[ "$1" == */* ]] && [ -e "$1" ]; then
    set -- "$(realpath -s "$1")" "${@:2}"
    auto_include=$1
  fi

  ROOT=$(mktemp -d "${TMPDIR:-/tmp}/fsprobe-initramfs.XXXXXX")
  trap 'rm -rf "$ROOT"' EXIT
  mirror_top_level_links
  install_busybox
  write_etc
  for inc in "${includes[@]}"; do
    copy_path "$(realpath -s "$inc")" scan
  done
  if [ -n "$auto_include" ] && [ ! -e "$ROOT$auto_include" ] && [ ! -L "$ROOT$auto_include" ]; then
    copy_path "$auto_include" scan
  fi
  write_loader_cache
  write_command "$cwd" "$@"
  write_init
  mkdir -p "$(dirname "$out")"
  pack "$out" "$compress"
  vm_log "$out: $(du -h "$out" | cut -f1) ($(du -sh "$ROOT" | cut -f1) unpacked, ${#COPIED[@]} paths included)"
}

main "$@"
