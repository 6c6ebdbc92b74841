#!/usr/bin/env bash
# Installs what fsprobe needs on a fresh Debian/Ubuntu machine and builds it.
#   scripts/setup.sh            system packages + release build
#   scripts/setup.sh --debug    system packages + debug build (what the tests use)
# Needs root (apt-get). Swift 6.1 or later must already be on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

configuration=release
[ "${1:-}" = "--debug" ] && configuration=debug

packages=(
  libbpf-dev libelf-dev zlib1g-dev pkg-config   # build and link against libbpf
  bpftool                                       # regenerates and checks the BPF skeleton
  libsqlite3-dev                                # the SQLite sink
  xfsprogs btrfs-progs                          # the path tests' xfs and btrfs images
)
. scripts/lib/packages.sh
install_missing_packages setup "${packages[@]}"

# librdkafka >= 2.8 for the Kafka sink (built from Debian's source package
# where the distribution's is older) and the test broker.
scripts/install-kafka.sh

if ! command -v swift >/dev/null 2>&1; then
  [ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH
fi
command -v swift >/dev/null || { echo "setup: swift not found: install Swift 6.1+ and put it on PATH" >&2; exit 1; }

echo "setup: building fsprobe ($configuration)" >&2
swift build -c "$configuration" --product fsprobe 2>&1 | tail -n 3 >&2
echo "setup: fsprobe is at $(swift build -c "$configuration" --show-bin-path)/fsprobe" >&2
