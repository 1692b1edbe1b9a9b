# Shared by scripts/install and scripts/uninstall (bash, sourced after each
# sets $prog): the paths both act on, messages, the staging root, the
# manifest, and what both ask of the running system. One copy, so the two
# scripts cannot drift apart on what install writes and uninstall undoes.

# The paths that must be known before the program can be asked (where it is,
# and where install recorded the node it runs on): lib/install/manifest.ts
# owns them too (libDir, installRecordPath), and test/install.test.ts checks
# that both say the same. Every other path comes from the program
# (program_paths). All are paths on the target system (prefixed with --root
# when given).
readonly libdir=/usr/lib/virt-aa-hook
readonly state_dir=/var/lib/virt-aa-hook
readonly manifest_file=$state_dir/install-manifest
# Our block in the libvirt daemons' local overrides.
readonly begin_marker='# BEGIN virt-aa-hook'
readonly end_marker='# END virt-aa-hook'

die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
warn() { printf '%s: warning: %s\n' "$prog" "$*" >&2; }
say() { printf '%s\n' "$*"; }

# Normalises $root as given with --root ("" for /) and sets $live: whether
# this run acts on the running system.
settle_root() {
  if [[ -n $root ]]; then
    [[ -d $root ]] || die "--root $root: not a directory"
    root=$(cd "$root" && pwd)
    if [[ $root == / ]]; then root=""; fi
  fi
  live=0
  if [[ -z $root ]]; then live=1; fi
}

# A path on the target, as seen from here.
R() { printf '%s%s' "$root" "$1"; }

# Runs a command that changes something, or only shows it with --dry-run.
run() {
  if ((dry_run)); then
    printf '[dry-run]'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

# Parameter expansions instead of cut, dirname and basename: every process
# counts on a slow machine (an install under TCG spends most of its time in
# exec).
sha() {
  local sum
  sum=$(sha256sum "$1") && printf '%s\n' "${sum%% *}"
}

# The manifest's records, without comments and blank lines, into the named
# array. A plain read loop: process substitution needs /dev/fd, which a
# minimal system (an initramfs, a container) may not have.
read_manifest() { # array-name
  local -n into=$1
  local line
  into=()
  [[ -f $(R "$manifest_file") ]] || return 0
  while IFS= read -r line; do
    if [[ -n $line && $line != '#'* ]]; then into+=("$line"); fi
  done <"$(R "$manifest_file")"
}

# Both checks runc and LXD make (lib/apparmor/status.ts makes them too).
apparmor_enabled() {
  ((live)) && [[ $(cat /sys/module/apparmor/parameters/enabled 2>/dev/null) == Y ]] && [[ -d /sys/kernel/security/apparmor ]]
}

# Whether AppArmor has a profile loaded whose name matches the ERE (needs $apparmor_on).
loaded() { # name-regex
  ((apparmor_on)) && grep -qE "^($1) \(" /sys/kernel/security/apparmor/profiles
}

# A local override without our block.
strip_override_block() { # file
  awk -v begin="$begin_marker" -v end="$end_marker" '$0 == begin { skip = 1; next } skip && $0 == end { skip = 0; next } !skip { print }' "$1"
}

# Runs the virt-aa-hook program (the bundle given) with the node that runs
# here: the target's own under --root when it runs on this machine.
run_program() { # node bundle args...
  local node=$1 bundle=$2
  shift 2
  if ! [[ -f $node && -x $node ]] || ! "$node" --version >/dev/null 2>&1; then node=$(command -v node || true); fi
  [[ -n $node ]] || { warn "no node to run $bundle with"; return 1; }
  "$node" "$bundle" "$@"
}

# Sets every path the program owns as the configuration in effect on the
# target says (lib/config.ts; bash has no JSON parser), as shell variables of
# the same names (libvirtHelper, originalHelper, emulatorDir, ...), and
# $emulator_dir and $wrapper_dir: the wrappers named like the emulators, and
# the per-domain wrappers of earlier versions; and the layout of an install
# (lib/install/manifest.ts): $hook, $hook_profile, $aa, $cache_dir, $conf_dir,
# hookPath, movedHookPath, shippedHookPath, ...
program_paths() { # node bundle [--root DIR]
  local out value
  out=$(run_program "$@" paths --shell) || die "could not ask $2 for its paths (is the configuration valid?)"
  # NAME='value' lines, quoted by the program (lib/cli/paths.ts, lib/cli/package.ts).
  eval "$out"
  out=$(run_program "$@" manifest --format shell) || die "could not ask $2 for its layout"
  eval "$out"
  emulator_dir=$emulatorDir wrapper_dir=$wrapperDir
  hook=$hookPath hook_profile=$hookProfilePath aa=$apparmorDir cache_dir=$cacheDir conf_dir=$configDir
  # They go into sed expressions, AppArmor rules and rm -f globs: plain paths only.
  for value in "$emulator_dir" "$wrapper_dir" "$libvirtHelper" "$originalHelper" "$hook" "$hook_profile" "$aa" "$cache_dir" "$conf_dir"; do
    [[ $value =~ ^/[A-Za-z0-9._+/-]+$ && $value != *..* ]] || die "$2 names the path '$value': not a plain absolute path"
  done
}

# A package's maintainer scripts tell the running daemons, so they find the
# hook that was added or no longer call the one removed (libvirt looks for
# hooks when it starts or reloads; a reload keeps the guests running).
# Returns 1 when no daemon runs.
reload_daemons() {
  local pidfile pid reloaded=1
  if [[ -d /run/systemd/system ]]; then
    systemctl try-reload-or-restart libvirtd.service virtqemud.service >/dev/null 2>&1 && say "reloaded libvirtd and virtqemud where they run"
    return 0
  fi
  for pidfile in /run/libvirtd.pid /run/virtqemud.pid; do
    pid=$(cat "$pidfile" 2>/dev/null) || continue
    if [[ $pid =~ ^[0-9]+$ ]] && kill -HUP "$pid" 2>/dev/null; then
      say "reloaded ${pidfile##*/} (SIGHUP): it sees the hook as it is now"
      reloaded=0
    fi
  done
  return "$reloaded"
}
