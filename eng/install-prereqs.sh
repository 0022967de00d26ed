#!/usr/bin/env bash
# Installs what GroupRobust's tests and samples need on the machine itself:
#   1. a libstdc++ that exports GLIBCXX_3.4.32 (TorchSharp 0.107's libLibTorchSharp.so needs it);
#   2. the Debian package dataset-fashion-mnist (real data for tests and samples);
#   3. Open MPI (openmpi-bin, libopenmpi-dev) for GroupRobust.Distributed and its mpirun tests;
#   4. the Debian package fortunes (real English text: the topic files of the text benchmark, SpuriousFortunes).
# Idempotent and quiet when nothing is missing. On Debian 12 as root it installs what is missing;
# anywhere else it prints what is missing and how to get it, and exits non-zero.
# Side effect on Debian 12: step 1 adds the Debian 13 (trixie) suite at pin priority 100 and installs libstdc++6 from it,
# which upgrades a few base packages (libc6, libgcc-s1 and friends) to Debian 13's versions.
# When another process holds apt's or dpkg's lock (unattended upgrades, a second job), each apt command waits for it,
# up to GROUPROBUST_APT_LOCK_TIMEOUT seconds in all (default 600), then fails naming the lock.
set -euo pipefail

NEEDED_GLIBCXX="GLIBCXX_3.4.32"
DATASET_PKG="dataset-fashion-mnist"
DATASET_DIR="/usr/share/datasets/fashion-mnist"
FORTUNES_PKG="fortunes"
FORTUNES_DIR="/usr/share/games/fortunes"
TRIXIE_LIST="/etc/apt/sources.list.d/grouprobust-trixie.sources"
TRIXIE_PIN="/etc/apt/preferences.d/grouprobust-trixie.pref"

log() { printf 'install-prereqs: %s\n' "$*" >&2; }

find_libstdcxx() {
  local candidates=(/usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib64/libstdc++.so.6 /usr/lib/libstdc++.so.6)
  local c
  if command -v ldconfig >/dev/null 2>&1; then
    c=$(ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
    [ -n "${c:-}" ] && candidates=("$c" "${candidates[@]}")
  fi
  for c in "${candidates[@]}"; do
    [ -e "$c" ] && { readlink -f "$c"; return 0; }
  done
  return 1
}

has_glibcxx() {
  local lib
  lib=$(find_libstdcxx) || return 1
  # grep -a on the binary works without binutils installed
  grep -aq "$NEEDED_GLIBCXX" "$lib"
}

has_openmpi() {
  command -v mpirun >/dev/null 2>&1 && { [ -e /usr/lib/x86_64-linux-gnu/libmpi.so.40 ] || [ -e /usr/lib/aarch64-linux-gnu/libmpi.so.40 ] || ldconfig -p 2>/dev/null | grep -q 'libmpi.so.40'; }
}

has_dataset() {
  [ -f "$DATASET_DIR/train-images-idx3-ubyte.gz" ] || [ -f "$DATASET_DIR/train-images-idx3-ubyte" ]
}

has_fortunes() {
  [ -f "$FORTUNES_DIR/computers" ] && [ -f "$FORTUNES_DIR/politics" ]
}

os_id="" ; os_version=""
if [ -r /etc/os-release ]; then
  # shellcheck disable=SC1091
  . /etc/os-release
  os_id="${ID:-}"; os_version="${VERSION_ID:-}"
fi
is_debian=false
case "$os_id" in debian|ubuntu) is_debian=true ;; esac
is_root=false
[ "$(id -u)" = "0" ] && is_root=true

missing=()
has_glibcxx || missing+=("libstdc++")
has_dataset || missing+=("dataset")
has_openmpi || missing+=("openmpi")
has_fortunes || missing+=("fortunes")
[ ${#missing[@]} -eq 0 ] && exit 0

if ! $is_root || ! $is_debian; then
  log "missing prerequisites on ${os_id:-unknown} ${os_version:-} (running as uid $(id -u)):"
  for m in "${missing[@]}"; do
    case "$m" in
      libstdc++) log "  - libstdc++ with $NEEDED_GLIBCXX (GCC 13 or newer runtime), needed by TorchSharp 0.107's native library."
                 log "    Debian 12: add the Debian 13 (trixie) suite with a low pin priority and run 'apt-get install -t trixie libstdc++6' as root;"
                 log "    other distributions: use Ubuntu 24.04+, Debian 13+, Fedora 39+ or install a GCC 13+ libstdc++." ;;
      dataset)   log "  - Fashion-MNIST in $DATASET_DIR: 'apt-get install $DATASET_PKG' as root on Debian/Ubuntu,"
                 log "    or put the four IDX files there (or point GroupRobust's data directory option elsewhere)." ;;
      openmpi)   log "  - Open MPI (mpirun and libmpi.so.40) for GroupRobust.Distributed: 'apt-get install openmpi-bin libopenmpi-dev' as root on Debian/Ubuntu." ;;
      fortunes)  log "  - the fortune topic files in $FORTUNES_DIR (the text benchmark's corpus): 'apt-get install $FORTUNES_PKG' as root on Debian/Ubuntu." ;;
    esac
  done
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
lock_deadline=$(( $(date +%s) + ${GROUPROBUST_APT_LOCK_TIMEOUT:-600} ))
# apt-get with a bounded wait for the apt/dpkg locks: dpkg's own wait (DPkg::Lock::Timeout) where apt has it, and a
# retry while apt-get reports a held lock (apt-get update takes the lists lock, which that option does not cover)
apt_get() {
  local out rc left
  while :; do
    left=$(( lock_deadline - $(date +%s) )); [ "$left" -gt 0 ] || left=1
    out=$(mktemp)
    rc=0
    apt-get -o DPkg::Lock::Timeout="$left" "$@" >/dev/null 2>"$out" || rc=$?
    if [ "$rc" = 0 ]; then rm -f "$out"; return 0; fi
    if grep -qE 'Could not get lock|Unable to acquire|is another process using it' "$out" && [ "$(date +%s)" -lt "$lock_deadline" ]; then
      log "apt is busy (another process holds its lock); waiting: $(grep -m1 -E 'Could not get lock|Unable to acquire' "$out")"
      rm -f "$out"
      sleep 5
      continue
    fi
    cat "$out" >&2
    if grep -qE 'Could not get lock|Unable to acquire' "$out"; then
      log "gave up after ${GROUPROBUST_APT_LOCK_TIMEOUT:-600} s waiting for apt's lock (set GROUPROBUST_APT_LOCK_TIMEOUT to wait longer)"
    fi
    rm -f "$out"
    return "$rc"
  done
}
apt_updated=false
apt_update() { $apt_updated || { apt_get update -qq; apt_updated=true; }; }

for m in "${missing[@]}"; do
  case "$m" in
    libstdc++)
      if [ "$os_id" != "debian" ] || [ "${os_version%%.*}" != "12" ]; then
        log "libstdc++ lacks $NEEDED_GLIBCXX and this is $os_id $os_version, not Debian 12: install a GCC 13+ libstdc++ by hand."
        exit 1
      fi
      if [ ! -f "$TRIXIE_LIST" ]; then
        src=/etc/apt/sources.list.d/debian.sources
        uris=""
        if [ -f "$src" ]; then
          # the main archive URI(s): the stanza whose suites include 'bookworm' itself (not -security)
          uris=$(awk 'BEGIN{RS=""; FS="\n"} /Suites:[^\n]*bookworm([ \t]|$)/ {for(i=1;i<=NF;i++) if ($i ~ /^URIs:/) {sub(/^URIs:[ \t]*/, "", $i); print $i}}' "$src" | head -n1)
        fi
        if [ -z "$uris" ] && [ -f /etc/apt/sources.list ]; then
          uris=$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list)
        fi
        if [ -z "$uris" ]; then
          log "could not find the Debian archive URI in $src or /etc/apt/sources.list; add a trixie source by hand."
          exit 1
        fi
        keyring=/usr/share/keyrings/debian-archive-keyring.gpg
        {
          echo "Types: deb"
          echo "URIs: $uris"
          echo "Suites: trixie"
          echo "Components: main"
          [ -f "$keyring" ] && echo "Signed-By: $keyring"
        } > "$TRIXIE_LIST"
        printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' > "$TRIXIE_PIN"
        log "added the Debian 13 (trixie) suite from $uris with pin priority 100"
      fi
      apt_updated=false
      apt_update
      log "installing libstdc++6 from trixie (for $NEEDED_GLIBCXX)"
      apt_get install -y -qq -t trixie libstdc++6
      has_glibcxx || { log "libstdc++6 from trixie installed but $NEEDED_GLIBCXX is still missing"; exit 1; }
      ;;
    openmpi)
      apt_update
      log "installing Open MPI (openmpi-bin, libopenmpi-dev)"
      apt_get install -y -qq openmpi-bin libopenmpi-dev
      has_openmpi || { log "Open MPI installed but mpirun or libmpi.so.40 is still missing"; exit 1; }
      ;;
    fortunes)
      apt_update
      log "installing $FORTUNES_PKG"
      apt_get install -y -qq "$FORTUNES_PKG"
      has_fortunes || { log "$FORTUNES_PKG installed but $FORTUNES_DIR has no computers or politics file"; exit 1; }
      ;;
    dataset)
      apt_update
      log "installing $DATASET_PKG"
      apt_get install -y -qq "$DATASET_PKG"
      has_dataset || { log "$DATASET_PKG installed but $DATASET_DIR has no train-images file"; exit 1; }
      ;;
  esac
done
