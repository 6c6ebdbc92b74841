# Shared by the scripts that fetch packages from the machine's own Debian
# archive without touching its apt configuration. Source it; needs bash.

# Prints "URI KEYRING" of the machine's Debian main archive (not -security),
# read from its apt sources so no archive host is written into the repository.
archive_source() {
  local files=() f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && files+=("$f")
  done
  [ "${#files[@]}" -gt 0 ] || return 0
  awk '
    function main_archive(uri, suites, comps) {
      return uri !~ /security/ && (" " suites " ") ~ / [a-z]+ / && (" " comps " ") ~ / main /
    }
    function emit(uri, key) { if (!done) { print uri, (key == "" ? "-" : key); done = 1 } }
    FNR == 1 { flush() }
    FILENAME ~ /\.list$/ && $1 == "deb" {
      key = ""; i = 2
      if ($2 ~ /^\[/) {
        for (; i <= NF; i++) {
          if ($i ~ /^\[?signed-by=/) { key = $i; sub(/^\[?signed-by=/, "", key); sub(/\]$/, "", key) }
          if ($i ~ /\]$/) { i++; break }
        }
      }
      comps = ""; for (j = i + 2; j <= NF; j++) comps = comps " " $j
      if (main_archive($i, $(i + 1), comps)) emit($i, key)
      next
    }
    FILENAME ~ /\.sources$/ {
      if ($0 ~ /^[ \t]*$/) { flush(); next }
      if ($0 ~ /^#/) next
      field = tolower($1); val = $0; sub(/^[^:]*:[ \t]*/, "", val)
      if (field == "types:") types = val
      else if (field == "uris:") uris = val
      else if (field == "suites:") suites = val
      else if (field == "components:") comps = val
      else if (field == "signed-by:") key = val
      else if (field == "enabled:") enabled = val
    }
    END { flush() }
    function flush(   n, u, k) {
      if (uris != "" && (" " types " ") ~ / deb / && enabled != "no") {
        n = split(uris, u, /[ \t]+/)
        for (k = 1; k <= n; k++) if (u[k] != "" && main_archive(u[k], suites, comps)) emit(u[k], key)
      }
      types = uris = suites = comps = key = enabled = ""
    }
  ' "${files[@]}"
}
