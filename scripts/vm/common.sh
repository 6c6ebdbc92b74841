# shellcheck shell=bash
# Shared helpers for the qemu kernel-matrix scripts (sourced, not run).
# Each script sets VM_PROG before sourcing so errors name the script that failed.

# The kernels the matrix knows: short name -> Debian suite that ships it.
VM_ALL_KERNELS="5.10 6.1 6.12"

# One-line errors naming what failed, as every script in scripts/vm/ reports them.
vm_die() {
  echo "${VM_PROG:-vm}: $*" >&2
  exit 1
}

vm_log() {
  echo "${VM_PROG:-vm}: $*" >&2
}

# The repository root, to refuse caches inside it (kernels are ~100 MB of
# downloads that must never end up in a commit).
vm_repo_root() {
  (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
}

# Where kernels, the private apt state and built initramfs images live.
vm_cache_dir() {
  local cache repo
  cache=$(realpath -m "${FSPROBE_VM_CACHE:-/var/cache/fsprobe-vm}")
  repo=$(vm_repo_root)
  case "$cache/" in
    "$repo"/*) vm_die "cache dir $cache is inside the repository $repo: set FSPROBE_VM_CACHE elsewhere" ;;
  esac
  echo "$cache"
}

# Debian suite that ships each kernel series (all are 'main' + '*-cloud-amd64').
vm_suite_for() {
  case "$1" in
    5.10) echo bullseye ;;
    6.1) echo bookworm ;;
    6.12) echo trixie ;;
    *) vm_die "unknown kernel '$1' (known: $VM_ALL_KERNELS)" ;;
  esac
}

# Exact-name pattern of the real (ABI-versioned, signed) image package, so the
# '-unsigned' and '-dbg' variants and the meta package never match.
vm_package_regex() {
  case "$1" in
    5.10) echo '^linux-image-5\.10\.0-[0-9]+-cloud-amd64$' ;;
    6.1) echo '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' ;;
    6.12) echo '^linux-image-6\.12\.[^-]+-cloud-amd64$' ;;
    *) vm_die "unknown kernel '$1' (known: $VM_ALL_KERNELS)" ;;
  esac
}

# Splits "5.10,6.1" (or spaces) into validated words.
vm_parse_kernel_list() {
  local k out=""
  for k in ${1//,/ }; do
    vm_suite_for "$k" >/dev/null
    out="$out $k"
  done
  [ -n "$out" ] || vm_die "empty kernel list"
  echo "${out# }"
}

# Directory holding one extracted kernel: vmlinuz, release, lib/modules/<release>.
vm_kernel_dir() {
  echo "$(vm_cache_dir)/kernels/$1"
}

vm_kernel_ready() {
  local dir
  dir=$(vm_kernel_dir "$1")
  [ -f "$dir/.complete" ] && [ -f "$dir/vmlinuz" ] && [ -f "$dir/release" ] &&
    [ -f "$dir/lib/modules/$(cat "$dir/release")/modules.dep" ]
}
