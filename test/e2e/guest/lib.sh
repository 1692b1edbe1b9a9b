# Shared by the e2e guest scripts (bash, sourced). They run as PID 1 of a TCG
# guest booted by test/e2e/helpers/boot.ts on the host's own root (read-only
# 9p + tmpfs overlay; see init.sh), so everything written here is thrown away
# at power-off except what goes to /e2e, the host's .cache/e2e/.
#
# Results go to $E2E_RUN/results.tsv, one record per line, read by
# test/e2e/e2e.test.ts:  E2E <TAB> kind <TAB> scenario <TAB> key <TAB> value
# kinds: check (key = what, value = ok|fail: detail), result (PASS|FAIL),
# fact (a value the host asserts on), stage (key = stage, value = ms).
# Values are escaped: \\ \n \t.

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C
export HOME=/root

E2E_ROOT=/e2e
E2E_RUN=
E2E_CHECKOUT=
for arg in $(cat /proc/cmdline); do
	case $arg in
	e2e.run=*) E2E_RUN=$E2E_ROOT/${arg#e2e.run=} ;;
	e2e.checkout=*) E2E_CHECKOUT=${arg#e2e.checkout=} ;;
	esac
done
: "${E2E_RUN:=$E2E_ROOT/run}"
mkdir -p "$E2E_RUN"
RESULTS=$E2E_RUN/results.tsv
SYSLOG=/var/log/e2e-syslog
# libvirt's QEMU capability cache, kept between runs.
CAPS_CACHE=$E2E_ROOT/libvirt-qemu-capabilities
readonly E2E_ROOT E2E_RUN E2E_CHECKOUT RESULTS SYSLOG CAPS_CACHE

now_ms() { local t=${EPOCHREALTIME/./}; printf '%s\n' "${t:0:-3}"; }
E2E_T0=$(now_ms)

escape() { # one line, for a TSV field
	local s=${1//\\/\\\\}
	s=${s//$'\n'/\\n}
	s=${s//$'\t'/\\t}
	printf '%s' "$s"
}

emit() { # kind scenario key value
	printf 'E2E\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(escape "$3")" "$(escape "${4:-}")" >>"$RESULTS"
}

say() { printf '[%6.1fs] %s\n' "$(((($(now_ms) - E2E_T0)) / 100))e-1" "$*"; }

# ---------------------------------------------------------------------------
# Stages and scenarios

STAGE= STAGE_T0=
stage() { # name: ends the previous stage, starts this one ("" only ends)
	local t
	t=$(now_ms)
	if [[ -n $STAGE ]]; then
		emit stage - "$STAGE" "$((t - STAGE_T0))"
		say "stage $STAGE: $((t - STAGE_T0)) ms"
	fi
	STAGE=$1 STAGE_T0=$t
	[[ -z $STAGE ]] || say "=== stage $STAGE"
}

SCEN= SCEN_FAILS=0 SCEN_T0=
begin_scenario() { # name description
	SCEN=$1 SCEN_FAILS=0 SCEN_T0=$(now_ms)
	say "--- scenario $1: $2"
	emit begin "$SCEN" description "$2"
}

end_scenario() {
	local ms=$(($(now_ms) - SCEN_T0))
	emit stage "$SCEN" "scenario $SCEN" "$ms"
	if ((SCEN_FAILS == 0)); then
		emit result "$SCEN" result PASS
		printf 'E2E-RESULT PASS %s (%d ms)\n' "$SCEN" "$ms"
	else
		emit result "$SCEN" result FAIL
		printf 'E2E-RESULT FAIL %s (%d ms, %d failed checks)\n' "$SCEN" "$ms" "$SCEN_FAILS"
	fi
	SCEN=
}

pass() { # what
	emit check "$SCEN" "$1" ok
	say "  ok   $1"
}

fail() { # what [detail]
	SCEN_FAILS=$((SCEN_FAILS + 1))
	emit check "$SCEN" "$1" "fail: ${2:-}"
	say "  FAIL $1${2:+: $2}"
}

check() { # what command... : passes when the command exits 0
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$what"; else fail "$what" "$(printf '%s' "$out" | tail -n 5)"; fi
}

check_not() { # what command... : passes when the command fails
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then fail "$what" "succeeded: $(printf '%s' "$out" | tail -n 3)"; else pass "$what"; fi
}

check_eq() { # what actual expected
	if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1" "got '$2', expected '$3'"; fi
}

check_match() { # what text regex
	if [[ $2 =~ $3 ]]; then pass "$1"; else fail "$1" "'$(printf '%s' "$2" | tail -n 5)' does not match /$3/"; fi
}

fact() { # key value: for the host to assert on
	emit fact "$SCEN" "$1" "$2"
	say "  fact $1 = $2"
}

# A pause without a process: read from a pipe nobody writes to, until the
# timeout. Under TCG a polling loop that execs sleep (and date) burns the CPU
# the daemons it waits for need. Opened by boot_basics: process substitution
# needs /dev/fd, which PID 1 of the guest has only from there on.
NAP_FD=
nap() { read -r -t "$1" -u "$NAP_FD" _ || true; }
wait_until() { # seconds command...
	local deadline=$((EPOCHSECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		((EPOCHSECONDS < deadline)) || return 1
		nap 0.2
	done
}
not_running() { ! kill -0 "$1" 2>/dev/null; }

# ---------------------------------------------------------------------------
# The guest system

# A fresh tmpfs over a state directory, with the host's directory tree
# (owners and modes) but none of its files. One tar each way: under TCG every
# process costs ~0.1 s.
fresh_tree() { # dir
	local dir=$1 skeleton=/run/e2e-skeleton.tar
	mkdir -p "$dir"
	(cd "$dir" && find . -type d -print0 | tar --null --no-recursion -T - -cf "$skeleton")
	mount -t tmpfs tmpfs "$dir"
	tar -xpf "$skeleton" -C "$dir"
	rm -f "$skeleton"
}

# The host is a development machine: whatever an install, an integration run
# or a libvirtd left on it must not leak into the guest.
reset_host_state() {
	rm -rf /etc/libvirt/hooks /etc/libvirt/qemu/autostart /etc/libvirt/storage/autostart
	mkdir -p /etc/libvirt/hooks
	rm -f /etc/libvirt/qemu/*.xml /etc/libvirt/qemu/networks/autostart/* /etc/libvirt/storage/*.xml
	rm -rf /usr/lib/virt-aa-hook /usr/sbin/virt-aa-hook /var/lib/virt-aa-hook /var/cache/apparmor/virt-aa-hook /etc/virt-aa-hook \
		/etc/apparmor.d/virt-aa-hook /etc/apparmor.d/abstractions/virt-aa-hook /etc/apparmor.d/etc.libvirt.hooks.qemu \
		/etc/apparmor.d/local/etc.libvirt.hooks.qemu /etc/systemd/system/virt-aa-hook-sync.service
	rm -f /usr/lib/libvirt/virt-aa-hook.* /etc/apparmor.d/libvirt/libvirt-* /etc/apparmor.d/libvirt/.libvirt-* \
		/etc/systemd/system/{libvirtd,virtqemud}.service.d/virt-aa-hook-path.conf /etc/apt/apt.conf.d/90virt-aa-hook \
		/etc/apparmor.d/virt-aa-hook.usr.sbin.*
	for local in /etc/apparmor.d/local/usr.sbin.libvirtd /etc/apparmor.d/local/usr.lib.libvirt.virt-aa-helper; do
		if [[ -f $local ]]; then sed -i '/^# BEGIN virt-aa-hook$/,/^# END virt-aa-hook$/d' "$local"; fi
	done
	# libvirt's own virt-aa-helper back in its place, if an install on the host diverted it.
	if [[ -e /usr/lib/libvirt/virt-aa-helper.distrib ]]; then
		rm -f /usr/lib/libvirt/virt-aa-helper
		dpkg-divert --quiet --local --rename --remove /usr/lib/libvirt/virt-aa-helper 2>/dev/null ||
			mv /usr/lib/libvirt/virt-aa-helper.distrib /usr/lib/libvirt/virt-aa-helper
	fi
	if [[ -f /etc/default/libvirtd ]]; then
		sed -i '/^# BEGIN virt-aa-hook PATH/,/^# END virt-aa-hook PATH$/d' /etc/default/libvirtd
	fi
	fresh_tree /var/lib/libvirt
	fresh_tree /var/log
	fresh_tree /var/cache/libvirt
	mkdir -p /var/cache/libvirt/qemu/capabilities
	if [[ -d $CAPS_CACHE ]]; then cp -a "$CAPS_CACHE/." /var/cache/libvirt/qemu/capabilities/; fi
	rm -rf /srv/e2e
}

# The stages every boot starts with: a host state of its own, our installer
# (what it printed goes to INSTALL_OUT, the configuration it wrote to
# INSTALLED_CONFIG), the default configuration, and libvirtd without a
# security driver. With DAEMON_PATH_FROM_DROPIN=1, libvirtd gets the PATH our
# drop-in declares (see start_libvirtd).
INSTALL_OUT= INSTALLED_CONFIG= LIBVIRTD_PATH=
prepare_host() {
	stage reset
	reset_host_state
	stage install
	cd "$E2E_CHECKOUT" || return 1
	INSTALL_OUT=$(scripts/install --node /usr/bin/node 2>&1) || { say "scripts/install failed: $INSTALL_OUT"; return 1; }
	INSTALLED_CONFIG=$(cat /etc/virt-aa-hook/config.json 2>/dev/null)
	if [[ ${DAEMON_PATH_FROM_DROPIN:-0} == 1 ]]; then
		LIBVIRTD_PATH=$(dropin_path) || { say "the installer wrote no PATH drop-in"; return 1; }
	fi
	write_config '{}'
	set_security_driver none
	stage libvirtd
	start_libvirtd || { say "libvirtd did not start"; return 1; }
}

# The hook's log lines of one domain (it logs through logger(1) to $SYSLOG).
hook_lines() { # domain
	grep -F "domain=\"$1\"" "$SYSLOG" 2>/dev/null
}

# Ends a boot: the last stage's time, the capability cache for the next run,
# and the hook's log and the kernel's for whoever reads .cache/e2e/runs/.
finish_boot() {
	stage ''
	save_caps_cache
	grep -F virt-aa-hook "$SYSLOG" >"$E2E_RUN/hook.log"
	dmesg >"$E2E_RUN/dmesg.txt"
}

save_caps_cache() {
	mkdir -p "$CAPS_CACHE"
	if ! diff -rq /var/cache/libvirt/qemu/capabilities "$CAPS_CACHE" >/dev/null 2>&1; then
		rm -rf "$CAPS_CACHE.new"
		cp -a /var/cache/libvirt/qemu/capabilities "$CAPS_CACHE.new" && rm -rf "$CAPS_CACHE" && mv "$CAPS_CACHE.new" "$CAPS_CACHE"
	fi
}

boot_basics() {
	# What udev or systemd would have made: bash's process substitution needs /dev/fd.
	[[ -e /dev/fd ]] || ln -s /proc/self/fd /dev/fd
	[[ -e /dev/stdin ]] || ln -s /proc/self/fd/0 /dev/stdin
	[[ -e /dev/stdout ]] || ln -s /proc/self/fd/1 /dev/stdout
	[[ -e /dev/stderr ]] || ln -s /proc/self/fd/2 /dev/stderr
	exec {NAP_FD}<> <(:)
	ip link set lo up
	hostname e2e-guest
	# Audit records reach the kernel log through printk, which drops bursts
	# (10 per 5 s) unless rate limiting is off: no denial may go missing.
	echo 0 >/proc/sys/kernel/printk_ratelimit
	dmesg -n 1
	# The hook logs through logger(1) to /dev/log, as on a host without a log file set.
	busybox syslogd -n -O "$SYSLOG" &
	wait_until 10 test -S /dev/log
}

power_off() {
	sync
	echo o >/proc/sysrq-trigger
	sleep 30
}

# ---------------------------------------------------------------------------
# libvirt

virsh() { command virsh --connect qemu:///system "$@"; }

# The PATH our drop-in declares: the guest runs no systemd, so the installer
# wrote it where Debian's sysv init script of libvirtd reads it,
# /etc/default/libvirtd (a systemd drop-in is read first, should there be one).
dropin_path() {
	local file line
	for file in /etc/systemd/system/libvirtd.service.d/virt-aa-hook-path.conf /etc/default/libvirtd; do
		line=$(sed -n '/virt-aa-hook/,$ s/^\(Environment=\)\{0,1\}PATH=//p' "$file" 2>/dev/null | head -n 1)
		if [[ -n $line ]]; then
			printf '%s\n' "$line"
			return 0
		fi
	done
	return 1
}

# libvirtd as its init would start it: with LIBVIRTD_PATH (from our drop-in) when set.
start_libvirtd() {
	pgrep -x virtlogd >/dev/null || virtlogd -d
	PATH=${LIBVIRTD_PATH:-$PATH} /usr/sbin/libvirtd -d
	wait_until 120 test -S /run/libvirt/libvirt-sock && wait_until 60 virsh version
}

stop_libvirtd() {
	local pid
	pid=$(cat /run/libvirtd.pid 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || return 0
	wait_until 60 not_running "$pid"
}

set_security_driver() { # none|apparmor
	sed -i '/^security_driver *=/d' /etc/libvirt/qemu.conf
	printf 'security_driver = "%s"\n' "$1" >>/etc/libvirt/qemu.conf
}

write_config() { # JSON text
	mkdir -p /etc/virt-aa-hook
	printf '%s\n' "$1" >/etc/virt-aa-hook/config.json
}

pid_of() { cat "/run/libvirt/qemu/$1.pid" 2>/dev/null; }
label_of_pid() { tr -d '\0' <"/proc/$1/attr/current" 2>&1; }
label_of() { # domain name (root namespace view)
	local pid
	pid=$(pid_of "$1") || { echo "no pid file"; return; }
	label_of_pid "$pid"
}
profile_loaded() { # name as the root namespace lists it
	grep -qxF "$1 (enforce)" /sys/kernel/security/apparmor/profiles || grep -qxF "$1 (complain)" /sys/kernel/security/apparmor/profiles
}

IMAGES=/srv/e2e
# A guest without an operating system: qcow2 disk on a backing file, a CD-ROM,
# a serial pty and a guest-agent channel. The backing file's boot sector is
# "cli; hlt": the BIOS boots it and the vCPU sleeps (a BIOS with nothing to
# boot keeps retrying: 11% of a TCG CPU per guest, against 2.5%, measured).
# ACPI: without it libvirt passes -no-acpi and PCI hotplug is refused.
make_guest() { # name uuid
	local name=$1 uuid=$2 dir=$IMAGES/$1
	mkdir -p "$dir"
	printf '\xfa\xf4\xeb\xfd' >"$dir/boot-sector"
	truncate -s 510 "$dir/boot-sector"
	printf '\x55\xaa' >>"$dir/boot-sector"
	truncate -s 16M "$dir/boot-sector"
	qemu-img convert -q -f raw -O qcow2 "$dir/boot-sector" "$dir/base.qcow2"
	rm -f "$dir/boot-sector"
	qemu-img create -q -f qcow2 -b "$dir/base.qcow2" -F qcow2 "$dir/top.qcow2"
	truncate -s 64K "$dir/cd.iso"
	cat >"$dir/domain.xml" <<EOF
<domain type='qemu'>
  <name>$name</name>
  <uuid>$uuid</uuid>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$dir/top.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='$dir/cd.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

# ---------------------------------------------------------------------------
# The kernel log

# AppArmor lines of the kernel log (after its first N lines), without timestamps.
apparmor_lines() { # [N]
	dmesg | tail -n +$((${1:-0} + 1)) | grep -E 'apparmor="(DENIED|ALLOWED)"' | sed -E 's/^\[[^]]*\] //'
}
DMESG_MARK=0
dmesg_mark() { DMESG_MARK=$(dmesg | wc -l); }

# The check every boot ends with: no AppArmor denial of a profile of ours (the
# per-VM ones, the hook's, libvirt's helper's, which runs ours) but those the
# scenarios provoked on purpose; every denial is printed as a fact.
check_no_unexpected_denials() { # ERE of the provoked ones
	local ours_re='profile="(:[^:]*:)?(libvirt-[0-9a-f-]{36}|virt-aa-hook|virt-aa-helper)"' denied ours unexpected line
	denied=$(apparmor_lines | grep -F 'apparmor="DENIED"')
	ours=$(grep -E "$ours_re" <<<"$denied")
	unexpected=$(printf '%s\n' "$ours" | grep -vE "$1" | grep .)
	while IFS= read -r line; do [[ -z $line ]] || fact 'denial (of ours)' "$line"; done <<<"$ours"
	while IFS= read -r line; do [[ -z $line ]] || fact 'denial (other profile)' "$line"; done < <(grep -vE "$ours_re" <<<"$denied")
	check_eq 'no unexpected denial' "$unexpected" ''
}
apparmor_lines_since_mark() { apparmor_lines "$DMESG_MARK"; }

# ---------------------------------------------------------------------------
# A second host: a libvirtd in its own mount and UTS namespace (private
# libvirt directories, its own host UUID and hostname, as in
# test/integration/helpers/second-libvirtd.ts) and in its own AppArmor policy
# namespace. Profiles are kernel-wide; in a namespace they are its own: the
# daemon and everything it runs are ":<ns>:unconfined", so the hook's
# apparmor_parser loads into <ns>, and the emulator wrapper's exec into
# libvirt-<uuid> finds the profile of <ns>. Seen from outside, the label
# reads ":<ns>:libvirt-<uuid> (enforce)".
NS_PRIVATE=(
	"etc:/etc/libvirt" "run:/run/libvirt" "lib:/var/lib/libvirt" "log:/var/log/libvirt" "cache:/var/cache/libvirt"
	"aa-libvirt:/etc/apparmor.d/libvirt" "state:/var/lib/virt-aa-hook" "run-hook:/run/virt-aa-hook"
	"parser-cache:/var/cache/apparmor/virt-aa-hook" "config:/etc/virt-aa-hook"
)
ns_base() { printf '/run/e2e-ns/%s' "$1"; }
ns_uri() { printf 'qemu+unix:///system?socket=%s/run/libvirt-sock' "$(ns_base "$1")"; }

start_ns_libvirtd() { # name: the AppArmor namespace, the hostname, the directory
	local ns=$1 base entry dir target script=
	base=$(ns_base "$ns")
	for entry in "${NS_PRIVATE[@]}"; do
		dir=${entry%%:*} target=${entry#*:}
		mkdir -p "$base/$dir" "$target"
		cp -a "$target/." "$base/$dir/"
		script+="mount --bind '$base/$dir' '$target' && "
	done
	printf '\nhost_uuid = "%s"\n' "$(cat /proc/sys/kernel/random/uuid)" >>"$base/etc/libvirtd.conf"
	[[ -d /sys/kernel/security/apparmor/policy/namespaces/$ns ]] || mkdir "/sys/kernel/security/apparmor/policy/namespaces/$ns"
	aa-exec -p ":$ns:unconfined" -- unshare -m -u --propagation private \
		sh -c "${script}hostname '$ns' && virtlogd -d -p '$base/virtlogd.pid' && libvirtd -d -p '$base/libvirtd.pid'" || return 1
	wait_until 120 test -S "$base/run/libvirt-sock" && wait_until 60 command virsh --connect "$(ns_uri "$ns")" version
}

# Runs a command on that host: in its mount namespace and AppArmor namespace.
in_ns() { # name command...
	local ns=$1
	shift
	aa-exec -p ":$ns:unconfined" -- nsenter -m -u -t "$(cat "$(ns_base "$ns")/libvirtd.pid")" -- "$@"
}

stop_ns_libvirtd() { # name
	local base pid file
	base=$(ns_base "$1")
	for file in libvirtd.pid virtlogd.pid; do
		pid=$(cat "$base/$file" 2>/dev/null) && kill "$pid" 2>/dev/null
	done
	return 0
}
