#!/usr/bin/env bash
# Builds the Debian package, installs it, checks what it installed, runs the
# installed fsprobe once, and purges it again (needs root: dpkg, BPF).
#   scripts/test-package.sh [--binary PATH]   (passed to packaging/build-deb.sh)
# The release build is cached in .build like any other; a second run only
# repackages. Each failure is one line on stderr and exit status 1.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "test-package: FAIL: $*" >&2; exit 1; }
log() { echo "test-package: $*" >&2; }

[ "$(id -u)" = 0 ] || fail "run as root (installs a package, loads BPF programs)"
dpkg-query -W -f='${Status}' fsprobe 2>/dev/null | grep -q "install ok installed" \
  && fail "a fsprobe package is already installed: this test would replace and then purge it"
. scripts/lib/packages.sh
install_missing_packages test-package dpkg-dev man-db systemd lintian

version=$(sed -n 's/^ *static let number = "\([^"]*\)".*/\1/p' Sources/CLI/Version.swift)
work=$(mktemp -d)
probe_pid=""
installed=false
cleanup() {
  [ -n "$probe_pid" ] && kill -KILL "$probe_pid" 2>/dev/null || true
  if $installed; then
    dpkg --purge fsprobe >"$work/purge.log" 2>&1 || echo "test-package: FAIL: dpkg --purge fsprobe (see $work/purge.log)" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# librdkafka >= 2.8 is built into /usr/local where the distribution's is older
# (scripts/install-kafka.sh): no package can then satisfy a dependency on it.
build_args=("$@")
if ! dpkg -S "$(readlink -f "$(ldconfig -p | awk '/librdkafka\.so\.1 / {print $NF; exit}')")" >/dev/null 2>&1; then
  build_args+=(--local-rdkafka)
fi
deb=$(packaging/build-deb.sh "${build_args[@]}") || fail "packaging/build-deb.sh failed"
[ -f "$deb" ] || fail "packaging/build-deb.sh printed '$deb', which is no file"
log "built $deb ($(du -h "$deb" | cut -f1))"
# Debian's package checks: errors fail (packaging/lintian-overrides says why
# each overridden tag is expected); warnings are counted by tag.
lintian --fail-on error --suppress-tags spelling-error-in-binary "$deb" >"$work/lintian.log" 2>&1 \
  || fail "lintian reports errors: $(grep '^E:' "$work/lintian.log" | head -n 3 | tr '\n' ' ')"
warnings=$(awk '/^W:/ {print $3}' "$work/lintian.log" | sort | uniq -c | awk '{printf "%s%s (%d)", sep, $2, $1; sep=", "}')
[ -z "$warnings" ] || log "lintian warnings: $warnings"

# Debian images often keep man pages and docs out of installed packages
# (path-exclude in /etc/dpkg/dpkg.cfg.d/); ask for fsprobe's anyway.
include=(--path-include='/usr/share/man/man1/fsprobe*' --path-include='/usr/share/doc/fsprobe/*')
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 \
  -o "DPkg::Options::=${include[0]}" -o "DPkg::Options::=${include[1]}" "$(readlink -f "$deb")" >"$work/install.log" 2>&1 \
  || { installed=true; tail -n 5 "$work/install.log" >&2; fail "apt-get install $deb failed"; }
installed=true

[ "$(command -v fsprobe)" = /usr/bin/fsprobe ] || fail "fsprobe on PATH is $(command -v fsprobe || echo nothing), not /usr/bin/fsprobe"
/usr/bin/fsprobe --version | grep -q "^fsprobe $version " \
  || fail "/usr/bin/fsprobe --version says '$(/usr/bin/fsprobe --version 2>&1 | head -n 1)', not fsprobe $version"
ldd /usr/bin/fsprobe | grep -q 'libswift' && fail "/usr/bin/fsprobe links the toolchain's Swift runtime"

page=$(man -w fsprobe 2>/dev/null) || fail "man -w fsprobe finds no page"
[ "$page" = /usr/share/man/man1/fsprobe.1.gz ] || fail "man -w fsprobe finds $page, not /usr/share/man/man1/fsprobe.1.gz"
MANWIDTH=200 man fsprobe 2>/dev/null | grep -q -- '--dentry-resolution-mode' || fail "man fsprobe does not document --dentry-resolution-mode"
man -w fsprobe.run >/dev/null 2>&1 || fail "man -w fsprobe.run finds no page for the run subcommand"

verify=$(systemd-analyze verify /lib/systemd/system/fsprobe.service 2>&1) \
  || fail "systemd-analyze verify fsprobe.service: $(echo "$verify" | tr '\n' ' ')"
[ -z "$verify" ] || fail "systemd-analyze verify fsprobe.service warns: $(echo "$verify" | tr '\n' ' ')"
/usr/bin/fsprobe pipeline validate /etc/fsprobe/pipeline.yaml >/dev/null 2>"$work/validate.err" \
  || fail "fsprobe pipeline validate /etc/fsprobe/pipeline.yaml: $(head -n 1 "$work/validate.err")"
/usr/bin/fsprobe pipeline test /etc/fsprobe/pipeline.yaml >"$work/pipeline-test.out" 2>&1 \
  || fail "fsprobe pipeline test /etc/fsprobe/pipeline.yaml: $(grep -m1 FAIL "$work/pipeline-test.out" || head -n 1 "$work/pipeline-test.out")"
dpkg-query -W -f='${Conffiles}' fsprobe | grep -q '/etc/fsprobe/pipeline.yaml' || fail "/etc/fsprobe/pipeline.yaml is not a conffile"

for file in /usr/share/bash-completion/completions/fsprobe /usr/share/zsh/vendor-completions/_fsprobe \
            /usr/share/fish/vendor_completions.d/fsprobe.fish; do
  [ -s "$file" ] || fail "completion file $file is missing"
done
bash -c 'set -e; source /usr/share/bash-completion/completions/fsprobe; complete -p fsprobe' >/dev/null 2>&1 \
  || fail "the bash completion does not source or registers no completion for fsprobe"

# One event from the installed binary: a directory made in a watched temp dir.
watched=$(mktemp -d)
/usr/bin/fsprobe "$watched" -e mkdir -f json >"$work/events.jsonl" 2>"$work/probe.err" &
probe_pid=$!
for _ in $(seq 1 300); do
  grep -q '^fsprobe: ready' "$work/probe.err" && break
  kill -0 "$probe_pid" 2>/dev/null || break
  sleep 0.1
done
grep -q '^fsprobe: ready' "$work/probe.err" || fail "installed fsprobe did not get ready in 30 s: $(head -n 1 "$work/probe.err")"
mkdir "$watched/made-by-test"
for _ in $(seq 1 50); do
  grep -q '"event_type":"mkdir"' "$work/events.jsonl" && break
  sleep 0.1
done
kill -INT "$probe_pid"
status=0
wait "$probe_pid" || status=$?
probe_pid=""
rm -rf "$watched"
[ "$status" = 0 ] || fail "installed fsprobe exited $status after SIGINT: $(tail -n 1 "$work/probe.err")"
grep '"event_type":"mkdir"' "$work/events.jsonl" | grep -qF "\"src_filename\":\"$watched/made-by-test\"" \
  || fail "installed fsprobe reported no mkdir of $watched/made-by-test (got: $(head -c 300 "$work/events.jsonl"))"

dpkg --purge fsprobe >"$work/purge.log" 2>&1 || fail "dpkg --purge fsprobe failed (see $work/purge.log)"
installed=false
for path in /usr/bin/fsprobe /etc/fsprobe /lib/systemd/system/fsprobe.service /usr/share/doc/fsprobe; do
  [ ! -e "$path" ] || fail "$path is still there after dpkg --purge"
done
log "ok: $(basename "$deb") installs, documents, verifies, reports a mkdir, and purges"
