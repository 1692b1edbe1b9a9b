#!/bin/bash
# PID 1 of the e2e guest that proves, in a kernel enforcing AppArmor, that
# every new domain is confined from its first start where libvirt's own
# AppArmor driver is off (security_driver = "none"), with no enrol step: the
# wrappers named like the emulators come first in libvirtd's PATH. Results
# go to $RESULTS (lib.sh), asserted by test/e2e/e2e.test.ts on the host.
#
# This guest runs no systemd (nor an init script): libvirtd is started the
# way its init would start it, with the PATH our generated drop-in declares,
# read from the file the installer wrote (lib.sh: dropin_path, start_libvirtd).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap power_off EXIT
boot_basics

DAEMON_PATH_FROM_DROPIN=1
prepare_host || exit 1
# The installer's own configuration: a fresh install requires confinement.
write_config "$INSTALLED_CONFIG"
# Two more daemons, each in its own mount, UTS and AppArmor namespace, for the
# migration scenario, which runs beside the others. They copy the
# configuration above; their PATH is not ours (a host without the wrappers
# sends the domain, one with them receives it).
(start_ns_libvirtd e2esrc >/dev/null 2>&1 && touch /run/e2e-ns/e2esrc.up) &
(start_ns_libvirtd e2edst >/dev/null 2>&1 && touch /run/e2e-ns/e2edst.up) &

stage scenarios
EMULATORS=/usr/lib/virt-aa-hook/emulators
WRAPPER=$EMULATORS/qemu-system-x86_64
U_ND=e2e00000-0000-4000-8000-000000000021 # defined without <emulator>
U_EX=e2e00000-0000-4000-8000-000000000022 # explicit emulator
U_FREE=e2e00000-0000-4000-8000-000000000023 # "confine": false
U_OPT=e2e00000-0000-4000-8000-000000000024 # an emulator in /opt
U_MIG=e2e00000-0000-4000-8000-000000000025 # migrated in
U_SESS=e2e00000-0000-4000-8000-000000000026 # qemu:///session

confined_as() { # domain uuid [label prefix]: checks the running QEMU's label
	check_eq "QEMU of $1 runs as ${3:-}libvirt-$2 (enforce)" "$(label_of "$1")" "${3:-}libvirt-$2 (enforce)"
}
emulator_of() { virsh dumpxml --inactive "$1" | sed -n 's/.*<emulator>\(.*\)<\/emulator>.*/\1/p'; }
# The domain XML of make_guest without its <emulator>, as virt-install and most tools write it.
without_emulator() { sed -i '/<emulator>/d' "$IMAGES/$1/domain.xml"; }

# ---------------------------------------------------------------------------
# Runs on the two namespaced daemons beside the scenarios of the first.
migrate_in() {
	begin_scenario wrapper-migrate-in 'a domain whose XML names the real emulator, migrated in, runs confined on arrival'
	check 'the source libvirtd (namespace e2esrc) is up' wait_until 180 test -e /run/e2e-ns/e2esrc.up
	check 'the destination libvirtd (namespace e2edst) is up' wait_until 180 test -e /run/e2e-ns/e2edst.up
	# The source lets it run unconfined: a host without our wrappers, as far as this domain goes.
	printf '{"domains": {"mig": {"confine": false}}}\n' >"$(ns_base e2esrc)/config/config.json"
	make_guest mig $U_MIG
	check 'virsh define mig (source), naming /usr/bin/qemu-system-x86_64' in_ns e2esrc virsh define $IMAGES/mig/domain.xml
	check 'virsh start mig (source)' in_ns e2esrc virsh start mig
	check_match 'it runs unconfined on the source' "$(label_of_pid "$(cat "$(ns_base e2esrc)/run/qemu/mig.pid")")" '^(:e2esrc:)?unconfined$'
	check 'virsh migrate --live to the host with the wrappers' command virsh --connect "$(ns_uri e2esrc)" migrate --live --unsafe mig "$(ns_uri e2edst)" tcp://127.0.0.1:49200
	dst_pid=$(cat "$(ns_base e2edst)/run/qemu/mig.pid" 2>/dev/null)
	check_eq 'the guest arrived confined' "$(label_of_pid "$dst_pid")" ":e2edst:libvirt-$U_MIG (enforce)"
	check_eq 'the destination runs it through the wrapper' "$(in_ns e2edst virsh dumpxml mig | sed -n 's/.*<emulator>\(.*\)<\/emulator>.*/\1/p')" "$WRAPPER"
	check_match 'the migrate hook gave it the wrapper' "$(hook_lines mig | grep 'event=migrate/begin')" "mode=wrapper .*outcome=loaded emulator=\"$WRAPPER\""
	check 'virsh destroy mig (destination)' in_ns e2edst virsh destroy mig
	end_scenario
	stop_ns_libvirtd e2esrc
	stop_ns_libvirtd e2edst
}
migrate_in &
migrate_pid=$!

# ---------------------------------------------------------------------------
begin_scenario wrapper-default 'no enrol step: a domain from virt-install and one defined without <emulator> run confined from their first start'
check_match 'a fresh install requires confinement' "$INSTALLED_CONFIG" '"policy": "require"'
check_match "libvirtd's PATH starts with the wrappers" "$(tr '\0' '\n' <"/proc/$(cat /run/libvirtd.pid)/environ" | grep '^PATH=')" "^PATH=$EMULATORS:"
fact 'libvirtd PATH (from the drop-in)' "$LIBVIRTD_PATH"
check_match 'virsh capabilities names the wrapper' "$(virsh capabilities)" "<emulator>$WRAPPER</emulator>"
make_guest vi e2e00000-0000-4000-8000-000000000020
t0=$(now_ms)
out=$(virt-install --connect qemu:///system --name vi --memory 64 --vcpus 1 --import --disk "$IMAGES/vi/top.qcow2,format=qcow2" \
	--osinfo generic --network none --graphics none --noautoconsole --virt-type qemu 2>&1)
rc=$?
fact 'virt-install ms' "$(($(now_ms) - t0))"
check_eq 'virt-install --import --noautoconsole' "$rc" 0
[[ $rc == 0 ]] || fact 'virt-install output' "$out"
U_VI=$(virsh domuuid vi 2>/dev/null)
check_eq 'virt-install left <emulator> to libvirt, which named the wrapper' "$(emulator_of vi)" "$WRAPPER"
check_eq 'virt-install started it' "$(virsh domstate vi 2>&1)" running
confined_as vi "$U_VI"
make_guest nd $U_ND
without_emulator nd
check 'virsh define nd (no <emulator>)' virsh define $IMAGES/nd/domain.xml
check_eq 'libvirt saved the wrapper as its emulator' "$(emulator_of nd)" "$WRAPPER"
check 'virsh start nd' virsh start nd
confined_as nd $U_ND
check_match 'the profile runs the real emulator the wrapper execs' "$(cat /etc/apparmor.d/libvirt/libvirt-$U_ND.files)" '"/usr/bin/qemu-system-x86_64" ix,'
check_match 'the started event saw QEMU confined' "$(hook_lines nd | grep 'event=started')" 'outcome=confined'
check 'virsh destroy vi' virsh destroy vi
check 'virsh destroy nd' virsh destroy nd
end_scenario

# ---------------------------------------------------------------------------
begin_scenario wrapper-clone 'virt-clone of a domain with the wrapper: the clone runs confined under its own profile'
t0=$(now_ms)
check 'virt-clone --original vi --name vi-clone --auto-clone' virt-clone --connect qemu:///system --original vi --name vi-clone --auto-clone
fact 'virt-clone ms' "$(($(now_ms) - t0))"
U_CLONE=$(virsh domuuid vi-clone 2>/dev/null)
check_eq 'virt-clone copied the wrapper as its emulator' "$(emulator_of vi-clone)" "$WRAPPER"
check_match 'the clone has a UUID of its own' "$U_CLONE" "^[0-9a-f-]{36}$"
[[ $U_CLONE != "$U_VI" ]] || fail 'the clone has a UUID of its own' "same as vi: $U_CLONE"
check 'virsh start vi-clone' virsh start vi-clone
confined_as vi-clone "$U_CLONE"
# virt-install put it on the bus osinfo's "generic" asks for: whatever the target, its first file.
clone_disk=$(virsh domblklist vi-clone | awk '$2 ~ /^\// { print $2; exit }')
check_match "its profile names the clone's disk" "$(cat "/etc/apparmor.d/libvirt/libvirt-$U_CLONE.files" 2>&1)" "\"$clone_disk\" rwk,"
check_not "its profile does not name the original's disk" grep -qF "\"$IMAGES/vi/top.qcow2\"" "/etc/apparmor.d/libvirt/libvirt-$U_CLONE.files"
check 'virsh destroy vi-clone' virsh destroy vi-clone
end_scenario

# ---------------------------------------------------------------------------
begin_scenario wrapper-explicit-emulator 'a domain naming /usr/bin/qemu-system-x86_64: refused by default, confined after enroll --all, unconfined by choice with "confine": false; an emulator in /opt gets a wrapper of its own'
make_guest ex $U_EX
check 'virsh define ex (emulator /usr/bin/qemu-system-x86_64)' virsh define $IMAGES/ex/domain.xml
if out=$(virsh start ex 2>&1); then fail 'virsh start ex is refused under the default policy' "it started: $out"; else pass 'virsh start ex is refused under the default policy'; fi
check_match 'virsh shows our one line naming the domain and the fix' "$out" "virt-aa-hook: error: domain 'ex': refusing to start it unconfined .*run 'virt-aa-hook enroll ex', or set \"domains\": \\{\"ex\": \\{\"confine\": false\\}\\}"
fact 'refusal' "$(printf '%s' "$out" | grep virt-aa-hook)"
out=$(virt-aa-hook enroll --all --dry-run 2>&1)
check_match 'enroll --all --dry-run names what would change' "$out" "domain 'ex': would enroll: <emulator> /usr/bin/qemu-system-x86_64 -> $WRAPPER"
check_match 'enroll --all --dry-run leaves the others' "$out" "domain 'nd': already runs through the wrapper"
fact 'enroll --all --dry-run' "$out"
check_eq 'the dry run changed nothing' "$(emulator_of ex)" /usr/bin/qemu-system-x86_64
check 'virt-aa-hook enroll --all' virt-aa-hook enroll --all
check_eq 'ex now names the wrapper' "$(emulator_of ex)" "$WRAPPER"
check 'virsh start ex' virsh start ex
confined_as ex $U_EX
check 'virsh destroy ex' virsh destroy ex
make_guest free $U_FREE
check 'virsh define free' virsh define $IMAGES/free/domain.xml
write_config '{"policy": "require", "domains": {"free": {"confine": false}}}'
check 'virsh start free ("confine": false)' virsh start free
check_eq 'its QEMU is unconfined' "$(label_of free)" unconfined
check_match 'the hook logged that it was chosen' "$(hook_lines free | grep 'event=prepare')" 'outcome=unconfined \(by choice: "confine": false\)'
check 'virsh destroy free' virsh destroy free
write_config "$INSTALLED_CONFIG"
# An emulator outside the daemon's PATH: a wrapper at its own path, below
# by-path/. A build in /opt of its own: Debian's QEMU is relocatable (it
# finds modules and firmware relative to its directory), so lib/ and share/
# go beside the copy.
mkdir -p /opt/qemu/bin
cp /usr/bin/qemu-system-x86_64 /opt/qemu/bin/qemu-system-x86_64
ln -s /usr/lib /opt/qemu/lib
ln -s /usr/share /opt/qemu/share
make_guest optq $U_OPT
sed -i 's|<emulator>.*</emulator>|<emulator>/opt/qemu/bin/qemu-system-x86_64</emulator>|' $IMAGES/optq/domain.xml
check 'virsh define optq (emulator /opt/qemu/bin/qemu-system-x86_64)' virsh define $IMAGES/optq/domain.xml
check 'virt-aa-hook enroll optq' virt-aa-hook enroll optq
check_eq 'its wrapper is at its own path' "$(emulator_of optq)" "$EMULATORS/by-path/opt/qemu/bin/qemu-system-x86_64"
check 'virsh start optq' virsh start optq
confined_as optq $U_OPT
check 'virsh destroy optq' virsh destroy optq
# libvirtd under Debian's profile, still without libvirt's driver: our
# override's exec rule lets it run the wrappers (probes and starts).
stop_libvirtd
check "libvirtd's profile (with our override) loads" apparmor_parser -r /etc/apparmor.d/usr.sbin.libvirtd
check 'libvirtd starts confined, security_driver "none"' start_libvirtd
check_match 'libvirtd runs confined' "$(label_of_pid "$(cat /run/libvirtd.pid)")" '^(/usr/sbin/)?libvirtd \(enforce\)$'
check 'virsh start ex under the confined libvirtd' virsh start ex
confined_as ex $U_EX
check 'virsh destroy ex' virsh destroy ex
stop_libvirtd
apparmor_parser -R /etc/apparmor.d/usr.sbin.libvirtd >/dev/null 2>&1
check 'libvirtd starts unconfined again' start_libvirtd
end_scenario

# ---------------------------------------------------------------------------
begin_scenario wrapper-hotplug-hint 'a plain virsh attach-disk is denied; virt-aa-hook denials prints the attach-device command, which attaches it with no denial'
check 'virsh start nd' virsh start nd
confined_as nd $U_ND
mkdir -p /srv/e2e/elsewhere
qemu-img create -q -f qcow2 /srv/e2e/elsewhere/hint.qcow2 8M
dmesg_mark
check_not 'a plain virsh attach-disk of a disk elsewhere fails' virsh attach-disk nd /srv/e2e/elsewhere/hint.qcow2 vdb --subdriver qcow2 --live
check_match 'the kernel denied QEMU the disk' "$(apparmor_lines_since_mark | grep -F 'name="/srv/e2e/elsewhere/hint.qcow2"' | head -n 1)" "apparmor=\"DENIED\".*profile=\"libvirt-$U_ND\""
out=$(virt-aa-hook denials nd 2>&1)
fact 'virt-aa-hook denials nd' "$out"
command=$(printf '%s\n' "$out" | sed -n '/^virt-aa-hook attach-device /,/^EOF$/p')
check_match 'it prints the exact attach-device command' "$command" "^virt-aa-hook attach-device nd - --live <<'EOF'
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/srv/e2e/elsewhere/hint.qcow2'/><target dev='vdb' bus='virtio'/></disk>
EOF$"
dmesg_mark
check 'running the printed command attaches the disk' bash -c "$command"
check_match 'virsh domblklist shows it' "$(virsh domblklist nd)" 'vdb +/srv/e2e/elsewhere/hint.qcow2'
check_eq 'no AppArmor denial for it since' "$(apparmor_lines_since_mark | grep -F hint.qcow2)" ''
check 'virsh destroy nd' virsh destroy nd
end_scenario

# ---------------------------------------------------------------------------
begin_scenario session-unconfined "an unprivileged user's qemu:///session guest starts, unconfined, whatever our policy"
useradd -m -s /bin/bash e2euser
uid=$(id -u e2euser)
mkdir -p "/run/user/$uid" && chown e2euser: "/run/user/$uid" && chmod 700 "/run/user/$uid"
make_guest sess $U_SESS
chown -R e2euser: $IMAGES/sess
as_user() { runuser -u e2euser -- env HOME=/home/e2euser XDG_RUNTIME_DIR="/run/user/$uid" PATH="$PATH" LC_ALL=C "$@"; }
check 'virsh --connect qemu:///session define sess (as e2euser)' as_user virsh --connect qemu:///session define $IMAGES/sess/domain.xml
t0=$(now_ms)
check 'virsh --connect qemu:///session start sess' as_user virsh --connect qemu:///session start sess
fact 'session start ms (with its first capability probe)' "$(($(now_ms) - t0))"
check_eq 'it runs' "$(as_user virsh --connect qemu:///session domstate sess 2>&1)" running
qemu_pid=$(pgrep -u e2euser -f 'guest=sess' | head -n 1)
check_eq 'its QEMU is unconfined' "$(label_of_pid "$qemu_pid")" unconfined
check_match 'our hook ran and stood aside' "$(hook_lines sess)" 'outcome=ignored \(an unprivileged libvirt daemon'
check_not 'no profile was written for it' test -e /etc/apparmor.d/libvirt/libvirt-$U_SESS
check 'virsh --connect qemu:///session destroy sess' as_user virsh --connect qemu:///session destroy sess
session_daemon=$(pgrep -u e2euser -x libvirtd | head -n 1)
[[ -z $session_daemon ]] || kill "$session_daemon"
end_scenario

wait "$migrate_pid"

# ---------------------------------------------------------------------------
begin_scenario doctor-status-wrapper "doctor and status where the wrappers confine: healthy, then the hook changed after libvirtd started, libvirtd without the wrappers in its PATH, a running domain nothing confines"
U_DOC=e2e00000-0000-4000-8000-000000000027 # names the real emulator, runs unconfined under "warn"
# status reads the hook's lines where syslog daemons write them.
ln -sf "$SYSLOG" /var/log/syslog
check 'virsh start nd' virsh start nd
confined_as nd $U_ND
run_doctor "healthy"
check_eq 'doctor exits 0 on the healthy host' "$DOCTOR_RC" 0
check_match "doctor names the wrappers' path" "$DOCTOR_OUT" "confinement-path +the confinement path: the emulator wrappers first in the daemon's PATH"
for id in apparmor abi daemon confinement-path hook hook-seen node setup daemon-path capabilities running-domains stale-profiles; do
	check_eq "doctor: $id is ok" "$(doctor_state $id)" ok
done
check_eq "doctor: the helper's checks do not apply" "$(doctor_state helper) $(doctor_state helper-profile)" 'skip skip'
out=$(virt-aa-hook status nd 2>&1)
fact 'status nd' "$out"
check_match 'status: through our wrapper' "$out" "confinement: virt-aa-hook's emulator wrapper $WRAPPER"
check_match 'status: its profile is loaded, enforced, made from our template' "$out" "profile: +libvirt-$U_ND loaded \(enforce\), [0-9]+ rule\(s\), made from our template"
check_match "status: QEMU's label" "$out" "QEMU label: +libvirt-$U_ND \(enforce\)"
check_match 'status: the last hook event' "$out" 'last event: +.*event=started/begin: confined'
check_match 'status: the denial of wrapper-hotplug-hint, with the command that shows it' "$out" 'denials: +[1-9][0-9]* in [^:]+: virt-aa-hook denials nd'
check_match 'status: where it read the events' "$out" '# hook and helper events from /var/log/syslog; AppArmor records from '
check_match 'where virsh dominfo cannot tell' "$(virsh dominfo nd)" 'Security model: *none'
# Broken: the hook changed after libvirtd started.
touch /etc/libvirt/hooks/qemu
run_doctor "the hook changed"
check_eq 'doctor exits 1 when the hook changed after libvirtd started' "$DOCTOR_RC" 1
check_eq 'doctor: hook-seen fails' "$(doctor_state hook-seen)" FAIL
check_eq "doctor: its fix restarts libvirtd with the wrappers' PATH" "$(doctor_fixes hook-seen)" "kill $(cat /run/libvirtd.pid); PATH=$LIBVIRTD_PATH libvirtd -d"
# Broken: libvirtd restarted without the wrappers in its PATH.
stop_libvirtd
LIBVIRTD_PATH=/usr/sbin:/usr/bin:/sbin:/bin start_libvirtd
run_doctor "libvirtd without the wrappers' PATH"
check_eq 'doctor exits 1' "$DOCTOR_RC" 1
check_eq 'after the restart, hook-seen is ok' "$(doctor_state hook-seen)" ok
check_eq 'doctor: daemon-path fails' "$(doctor_state daemon-path)" FAIL
check_eq 'doctor: capabilities fails' "$(doctor_state capabilities)" FAIL
check_match 'doctor: virsh capabilities names the real emulator' "$DOCTOR_OUT" 'capabilities +.*/usr/bin/qemu-system-x86_64.*: these are not our wrappers'
check_eq "doctor: the fix restarts it with the wrappers' PATH" "$(doctor_fixes daemon-path)" "kill $(cat /run/libvirtd.pid); PATH=$LIBVIRTD_PATH libvirtd -d"
stop_libvirtd
check "the fix: libvirtd restarted with the drop-in's PATH" start_libvirtd
# Broken: a domain naming the real emulator runs unconfined (under "warn").
write_config '{"policy": "warn"}'
make_guest doc $U_DOC
check 'virsh define doc (emulator /usr/bin/qemu-system-x86_64)' virsh define $IMAGES/doc/domain.xml
check 'virsh start doc (policy warn)' virsh start doc
check_eq 'its QEMU is unconfined' "$(label_of doc)" unconfined
run_doctor "an unconfined domain runs"
check_eq 'doctor exits 1 while an unconfined domain runs' "$DOCTOR_RC" 1
check_eq 'doctor: running-domains fails' "$(doctor_state running-domains)" FAIL
check_eq 'doctor: daemon-path is ok again' "$(doctor_state daemon-path)" ok
check_match 'doctor: it names the domain and why' "$DOCTOR_OUT" "'doc' not confined: its emulator \"/usr/bin/qemu-system-x86_64\" is not virt-aa-hook's wrapper: run 'virt-aa-hook enroll doc'"
check_match 'doctor: the fix enrolls it' "$(doctor_fixes running-domains)" '^virt-aa-hook enroll doc '
out=$(virt-aa-hook status doc 2>&1)
fact 'status doc' "$out"
check_match 'status: not confined, and why' "$out" "confinement: not confined: its emulator \"/usr/bin/qemu-system-x86_64\" is not virt-aa-hook's wrapper"
check_match "status: QEMU's label" "$out" 'QEMU label: +unconfined'
check_match 'status: its last hook event' "$out" 'last event: +.*event=started/begin: not ours \(unenrolled\)'
check 'virsh destroy doc' virsh destroy doc
check 'virsh destroy nd' virsh destroy nd
write_config "$INSTALLED_CONFIG"
run_doctor 'at the end'
check_eq 'doctor exits 0 again' "$DOCTOR_RC" 0
end_scenario

finish_boot
