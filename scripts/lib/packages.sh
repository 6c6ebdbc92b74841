# Installing the Debian packages a script needs. Source it; needs bash and root.

# install_missing_packages WHO PACKAGE...: installs those of the packages that
# are not installed yet, saying so on stderr as WHO; updates the package lists
# only when the install cannot find a package with the current ones.
install_missing_packages() {
  local who=$1 missing=() p
  shift
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -gt 0 ] || return 0
  echo "$who: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  local install=(apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}")
  if ! "${install[@]}" >/dev/null 2>&1; then
    apt-get update -qq
    "${install[@]}" >/dev/null
  fi
}
