#!/usr/bin/env bash
# Builds the Debian package of fsprobe: the binary, the systemd unit, the
# default pipeline (a conffile), man pages and shell completions.
#   packaging/build-deb.sh [--binary PATH] [--output DIR] [--local-rdkafka]
#     --binary PATH    package this fsprobe binary instead of building one
#                      (it must carry the Swift runtime: --static-swift-stdlib)
#     --output DIR     where the .deb goes (default .build/deb)
#     --local-rdkafka  librdkafka >= 2.8 is not a package on this machine (it was
#                      built into /usr/local by scripts/install-kafka.sh): leave
#                      it out of Depends. Such a .deb installs only where that
#                      library is present; without the flag, Depends names
#                      librdkafka1 (>= 2.8), as on Debian 13.
# Prints the path of the .deb on stdout. Needs dpkg-dev (dpkg-shlibdeps).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "build-deb: error: $*" >&2; exit 1; }
log() { echo "build-deb: $*" >&2; }

binary="" output=.build/deb local_rdkafka=false
while [ $# -gt 0 ]; do
  case $1 in
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --output) output=${2:?--output needs a directory}; shift 2 ;;
    --local-rdkafka) local_rdkafka=true; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
command -v dpkg-shlibdeps >/dev/null || die "dpkg-shlibdeps not found: apt-get install dpkg-dev"
[ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH

version=$(sed -n 's/^ *static let number = "\([^"]*\)".*/\1/p' Sources/CLI/Version.swift)
[ -n "$version" ] || die "no version found in Sources/CLI/Version.swift"
arch=$(dpkg --print-architecture)
# Who answers for the package: DEBFULLNAME and DEBEMAIL, as for Debian's tools.
# The default is a placeholder: set them for a package you distribute.
maintainer="${DEBFULLNAME:-fsprobe maintainers} <${DEBEMAIL:-maintainers@fsprobe.invalid}>"
# Reproducible dates (man pages, changelog, file times): the last commit's.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

# The Swift runtime is linked in (--static-swift-stdlib): the toolchain's
# libswift*.so are no package, so a .deb needing them would not run elsewhere.
if [ -z "$binary" ]; then
  log "building fsprobe $version (release, Swift runtime linked statically)"
  swift build -c release --product fsprobe --static-swift-stdlib 2>&1 | tail -n 2 >&2
  binary="$(swift build -c release --static-swift-stdlib --show-bin-path)/fsprobe"
fi
[ -x "$binary" ] || die "$binary is not an executable"
if ldd "$binary" | grep -q 'libswift\|libFoundation\|libdispatch'; then
  die "$binary links the Swift runtime from the toolchain; build it with --static-swift-stdlib"
fi
if ldd "$binary" | grep -q 'not found'; then
  die "$binary needs libraries this machine lacks: $(ldd "$binary" | grep 'not found' | tr -s ' \t\n' ' ')"
fi
"$binary" --version | grep -qF "fsprobe $version " || die "$binary --version does not say $version"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
doc=$root/usr/share/doc/fsprobe
install -D -m 755 "$binary" "$root/usr/bin/fsprobe"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/fsprobe"
install -D -m 644 packaging/fsprobe.service "$root/lib/systemd/system/fsprobe.service"
install -D -m 644 packaging/pipeline.yaml "$root/etc/fsprobe/pipeline.yaml"
install -D -m 644 README.md "$doc/README.md"
install -D -m 644 packaging/copyright "$doc/copyright"
install -D -m 644 packaging/lintian-overrides "$root/usr/share/lintian/overrides/fsprobe"
install -D -m 644 packaging/examples/kernel-5.11-to-6.1.conf "$doc/examples/kernel-5.11-to-6.1.conf"
for pipeline in pipelines/*.yaml; do install -m 644 "$pipeline" "$doc/examples/"; done
for page in docs/*.md; do install -m 644 "$page" "$doc/"; done

# Man pages: swift-argument-parser's generate-manual plugin. The plugin builds
# every product of the package (release, without --static-swift-stdlib) before
# running its tool; asking it for --help builds only the tool, which is then
# run, as the plugin would, on the binary being packaged (it reads the CLI's
# definition with --experimental-dump-help). fsprobe.1 is the whole manual on
# one page (`fsprobe` alone watches: its flags belong there), and every
# subcommand also gets its own page (fsprobe.run.1, fsprobe.pipeline.validate.1…).
log "generating man pages and completions"
swift package generate-manual --help >"$work/manual-tool.log" 2>&1 \
  || { tail -n 5 "$work/manual-tool.log" >&2; die "cannot build swift-argument-parser's generate-manual tool"; }
manual_tool=$(find "$(swift build --show-bin-path)" -maxdepth 1 -name 'generate-manual*' -type f -perm -u+x | head -n 1)
[ -n "$manual_tool" ] || die "generate-manual tool not found after building it"
date_ymd=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
mkdir -p "$work/man/single" "$work/man/multi" "$root/usr/share/man/man1"
"$manual_tool" "$root/usr/bin/fsprobe" --date "$date_ymd" --output-directory "$work/man/single" >&2
"$manual_tool" "$root/usr/bin/fsprobe" --multi-page --date "$date_ymd" --output-directory "$work/man/multi" >&2
[ -f "$work/man/single/fsprobe.1" ] || die "generate-manual made no fsprobe.1"
cp "$work/man/single/fsprobe.1" "$work/man/multi/fsprobe.1"
for page in "$work/man/multi"/*.1; do
  # Blank lines mean nothing in mdoc; groff warns about each.
  sed '/^$/d' "$page" | gzip -9n >"$root/usr/share/man/man1/$(basename "$page").gz"
done

# Completions, from the binary itself.
completion() {
  install -d "$(dirname "$2")"
  # Sourced, not run: no #! line.
  "$root/usr/bin/fsprobe" --generate-completion-script "$1" | sed '1{/^#!/d}' >"$2"
  [ -s "$2" ] || die "no $1 completion script"
  chmod 644 "$2"
}
completion bash "$root/usr/share/bash-completion/completions/fsprobe"
completion zsh "$root/usr/share/zsh/vendor-completions/_fsprobe"
completion fish "$root/usr/share/fish/vendor_completions.d/fsprobe.fish"

# The changelog every binary package carries (changelog.gz: the version has
# no Debian revision, as for a native package).
cat >"$work/changelog" <<EOF
fsprobe ($version) unstable; urgency=medium

  * Release $version; see README.md.

 -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")
EOF
gzip -9n <"$work/changelog" >"$doc/changelog.gz"

# Depends: what the binary links, by package and version (dpkg-shlibdeps).
mkdir -p "$work/src/debian"
printf 'Source: fsprobe\n\nPackage: fsprobe\nArchitecture: any\n' >"$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O --ignore-missing-info -e"$root/usr/bin/fsprobe" 2>"$work/shlibdeps.log") \
  || { cat "$work/shlibdeps.log" >&2; die "dpkg-shlibdeps failed"; }
depends=${shlibs#shlibs:Depends=}
rdkafka=$(ldd "$binary" | awk '/librdkafka\.so/ {print $3}')
if [ -n "$rdkafka" ] && ! dpkg -S "$(readlink -f "$rdkafka")" >/dev/null 2>&1 && ! dpkg -S "$rdkafka" >/dev/null 2>&1; then
  # Not from a package: dpkg-shlibdeps could say nothing about it.
  if $local_rdkafka; then
    log "warning: librdkafka ($rdkafka) is not from a package; Depends leaves it out (--local-rdkafka)"
  else
    depends="$depends, librdkafka1 (>= 2.8)"
  fi
fi

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
install -d -m 755 "$root/DEBIAN"
cat >"$root/DEBIAN/control" <<EOF
Package: fsprobe
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: $depends
Section: admin
Priority: optional
Description: file-system event notifier based on eBPF
 fsprobe reports file-system events (open, mkdir, link, rename, setattr,
 unlink, rmdir, modify) with the absolute path resolved in the kernel by eBPF
 programs, filters them in the kernel on the watched paths, and delivers them
 through a pipeline of filters and sinks: the terminal, JSON-lines files, a
 SQLite archive or Kafka.
 .
 The fsprobe service runs the pipeline file /etc/fsprobe/pipeline.yaml as a
 dynamic user with the capabilities CAP_BPF, CAP_PERFMON and
 CAP_DAC_READ_SEARCH; it is not enabled on installation.
EOF
echo /etc/fsprobe/pipeline.yaml >"$root/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 755 "packaging/debian/$script" "$root/DEBIAN/$script"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"
find "$root" -type d -exec chmod 755 {} +
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$output"
deb="$output/fsprobe_${version}_${arch}.deb"
dpkg-deb --build --root-owner-group -Zxz "$root" "$deb" >&2
log "built $deb ($(du -h "$deb" | cut -f1))"
echo "$deb"
