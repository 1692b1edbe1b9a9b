#!/bin/bash
# PID 1 of the e2e guest booted with AppArmor on (apparmor=1): every scenario
# of the end-to-end suite that needs an enforcing kernel. Results go to
# $RESULTS (lib.sh), asserted by test/e2e/e2e.test.ts on the host.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap power_off EXIT
boot_basics

profile_file() { printf '/etc/apparmor.d/libvirt/libvirt-%s' "$1"; }
# Reads a file as the profile would let QEMU: root, in that profile. The
# profile grants exec and mmap of the emulator only, so the reader (coreutils
# head, linked against libc only) is bind-mounted over the emulator's path
# in a private mount namespace: the kernel then mediates it as the emulator.
EMULATOR=/usr/bin/qemu-system-x86_64
read_as() { # profile file
	unshare -m --propagation private sh -c 'mount --bind /usr/bin/head "$1" && exec aa-exec -p "$2" -- "$1" -c 16 "$3"' sh "$EMULATOR" "$1" "$2" >/dev/null
}
confined_as() { # domain uuid [label prefix]: checks the running QEMU's label
	check_eq "QEMU of $1 runs as ${3:-}libvirt-$2 (enforce)" "$(label_of "$1")" "${3:-}libvirt-$2 (enforce)"
}

# ---------------------------------------------------------------------------
prepare_host || exit 1
# Two more daemons, each in its own mount, UTS and AppArmor namespace, for the
# migration scenario, which runs beside the others.
(start_ns_libvirtd e2esrc >/dev/null 2>&1 && touch /run/e2e-ns/e2esrc.up) &
(start_ns_libvirtd e2edst >/dev/null 2>&1 && touch /run/e2e-ns/e2edst.up) &

stage scenarios
U1=e2e00000-0000-4000-8000-000000000001 # wrapper mode
U2=e2e00000-0000-4000-8000-000000000002 # not enrolled
U3=e2e00000-0000-4000-8000-000000000003 # libvirt mode
U4=e2e00000-0000-4000-8000-000000000004 # migration
# ---------------------------------------------------------------------------
# Runs in the background on the two namespaced daemons, beside the scenarios
# of the first libvirtd: the guest's work is mostly one process at a time,
# and TCG has a second core.
namespace_scenarios() {
	begin_scenario migration 'live migration between two libvirtd, each in its own AppArmor policy namespace'
	check 'the source libvirtd (namespace e2esrc) is up' wait_until 180 test -e /run/e2e-ns/e2esrc.up
	check 'the destination libvirtd (namespace e2edst) is up' wait_until 180 test -e /run/e2e-ns/e2edst.up
	make_guest mig $U4
	check 'virsh define mig (source)' in_ns e2esrc virsh define $IMAGES/mig/domain.xml
	check 'virt-aa-hook enroll mig (source)' in_ns e2esrc virt-aa-hook enroll mig
	check 'virsh start mig (source)' in_ns e2esrc virsh start mig
	src_pid=$(cat "$(ns_base e2esrc)/run/qemu/mig.pid" 2>/dev/null)
	check_eq 'the source QEMU runs confined in its namespace' "$(label_of_pid "$src_pid")" ":e2esrc:libvirt-$U4 (enforce)"
	t0=$(now_ms)
	check 'virsh migrate --live' command virsh --connect "$(ns_uri e2esrc)" migrate --live --unsafe mig "$(ns_uri e2edst)" tcp://127.0.0.1:49200
	fact 'migration ms' "$(($(now_ms) - t0))"
	dst_pid=$(cat "$(ns_base e2edst)/run/qemu/mig.pid" 2>/dev/null)
	check_eq 'the guest arrived confined on the destination' "$(label_of_pid "$dst_pid")" ":e2edst:libvirt-$U4 (enforce)"
	ns_has_profile() { aa-exec -p ":$1:unconfined" -- cat /sys/kernel/security/apparmor/profiles | grep -qxF "libvirt-$2 (enforce)"; }
	check 'the destination namespace has the profile' ns_has_profile e2edst $U4
	check_not 'the source namespace no longer has it' ns_has_profile e2esrc $U4
	check_not "the source's generated profile is removed" test -e "$(ns_base e2esrc)/aa-libvirt/libvirt-$U4"
	check 'the destination profile file exists' test -e "$(ns_base e2edst)/aa-libvirt/libvirt-$U4"
	check 'virsh destroy mig (destination)' in_ns e2edst virsh destroy mig
	check_not 'the destination profile is unloaded after destroy' ns_has_profile e2edst $U4
	end_scenario

	# On the source host of the migration, once that is done: the guest
	# need not be its own, and this stream has a core to itself.
	begin_scenario not-enrolled 'a guest that is not enrolled: refused under policy "require", starts with a warning under "warn"'
	local config
	config=$(ns_base e2esrc)/config/config.json
	make_guest plain $U2
	check 'virsh define plain' in_ns e2esrc virsh define $IMAGES/plain/domain.xml
	printf '{"policy": "require"}\n' >"$config"
	if out=$(in_ns e2esrc virsh start plain 2>&1); then
		fail 'virsh start plain is refused under "require"' "it started: $out"
	else
		pass 'virsh start plain is refused under "require"'
	fi
	check_match 'virsh shows our one-line message naming the domain' "$out" "virt-aa-hook: error: .*plain"
	fact 'refusal' "$(printf '%s' "$out" | grep virt-aa-hook)"
	check_not 'no QEMU was left running' test -e "$(ns_base e2esrc)/run/qemu/plain.pid"
	printf '{}\n' >"$config"
	check 'virsh start plain under "warn"' in_ns e2esrc virsh start plain
	check_match 'the hook logged that it runs unconfined' "$(hook_lines plain | grep 'event=prepare')" 'outcome=unconfined \(not enrolled\)'
	check_match 'its QEMU is unconfined' "$(label_of_pid "$(cat "$(ns_base e2esrc)/run/qemu/plain.pid")")" '^(:e2esrc:)?unconfined$'
	check 'virsh destroy plain' in_ns e2esrc virsh destroy plain
	end_scenario
	stop_ns_libvirtd e2esrc
	stop_ns_libvirtd e2edst
}
namespace_scenarios &
namespaces_pid=$!
make_guest wrap $U1
make_guest lab $U3
virsh define $IMAGES/wrap/domain.xml >/dev/null

# ---------------------------------------------------------------------------
begin_scenario wrapper-mode 'security_driver "none": enroll, start confined by the emulator wrapper, reads allowed and denied, destroy unloads'
check 'virt-aa-hook enroll wrap' virt-aa-hook enroll wrap
check_match 'the emulator is our wrapper' "$(virsh dumpxml wrap | grep '<emulator>')" 'virt-aa-hook'
t0=$(now_ms)
check 'virsh start wrap' virsh start wrap
fact 'virsh start ms' "$(($(now_ms) - t0))"
confined_as wrap $U1
check "profile libvirt-$U1 is loaded" profile_loaded "libvirt-$U1"
files=$(cat "$(profile_file $U1).files" 2>&1)
for f in top.qcow2 base.qcow2 cd.iso; do
	check_match "the .files rules name $f" "$files" "$IMAGES/wrap/$f"
done
dmesg_mark
check 'the profile reads the disk' read_as "libvirt-$U1" $IMAGES/wrap/top.qcow2
check 'the profile reads the backing file' read_as "libvirt-$U1" $IMAGES/wrap/base.qcow2
check 'the profile reads the cdrom' read_as "libvirt-$U1" $IMAGES/wrap/cd.iso
check_not 'the profile cannot read /etc/shadow' read_as "libvirt-$U1" /etc/shadow
denial=$(apparmor_lines_since_mark | grep -F 'name="/etc/shadow"')
check_match 'the kernel logged the /etc/shadow denial' "$denial" "apparmor=\"DENIED\".*profile=\"libvirt-$U1\""
fact 'shadow denial' "$denial"
check_match 'the started event saw QEMU confined' "$(hook_lines wrap | grep 'event=started')" "outcome=confined"
check 'virsh destroy wrap' virsh destroy wrap
check_not "profile libvirt-$U1 is unloaded after destroy" profile_loaded "libvirt-$U1"
check_not 'the generated profile is removed' test -e "$(profile_file $U1)"
check_not 'the generated .files is removed' test -e "$(profile_file $U1).files"
end_scenario

# ---------------------------------------------------------------------------
begin_scenario save-restore-restart 'virsh save + restore, then a libvirtd restart: still confined, same profile'
check 'virsh start wrap (again)' virsh start wrap
confined_as wrap $U1
check 'virsh save' virsh save wrap $IMAGES/wrap.save
check_not 'the profile is unloaded while saved' profile_loaded "libvirt-$U1"
check 'virsh restore' virsh restore $IMAGES/wrap.save
confined_as wrap $U1
check_match 'the restore hook loaded the profile' "$(hook_lines wrap | grep 'event=restore/begin')" 'outcome='
pid_before=$(pid_of wrap)
stop_libvirtd
check 'libvirtd restarted' start_libvirtd
check_eq 'the same QEMU runs after the restart' "$(pid_of wrap)" "$pid_before"
confined_as wrap $U1
check "profile libvirt-$U1 is still loaded" profile_loaded "libvirt-$U1"
# libvirtd answers virsh before its reconnect threads have run the hook.
check 'the reconnect event re-ensured the profile' wait_until 60 bash -c "grep -F 'domain=\"wrap\"' '$SYSLOG' | grep -q 'event=reconnect.*outcome=\(loaded\|unchanged\)'"
end_scenario

# ---------------------------------------------------------------------------
begin_scenario hotplug 'virt-aa-hook attach-device grows the profile; a plain virsh attach-device elsewhere is denied'
qemu-img create -q -f qcow2 $IMAGES/wrap/second.qcow2 8M
mkdir -p /srv/e2e/elsewhere
qemu-img create -q -f qcow2 /srv/e2e/elsewhere/other.qcow2 8M
disk_xml() { # file target
	printf "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='%s'/><target dev='%s' bus='virtio'/></disk>\n" "$1" "$2"
}
disk_xml $IMAGES/wrap/second.qcow2 vdb >$IMAGES/second.xml
disk_xml /srv/e2e/elsewhere/other.qcow2 vdc >$IMAGES/other.xml
dmesg_mark
check 'virt-aa-hook attach-device wrap second.xml --live' virt-aa-hook attach-device wrap $IMAGES/second.xml --live
check_match 'virsh domblklist shows the new disk' "$(virsh domblklist wrap)" "vdb +$IMAGES/wrap/second.qcow2"
check_match 'the profile names the new disk' "$(cat "$(profile_file $U1).files")" "$IMAGES/wrap/second.qcow2"
check_eq 'no AppArmor denial for the attached disk' "$(apparmor_lines_since_mark | grep -F second.qcow2)" ''
dmesg_mark
check_not 'a plain virsh attach-device of a disk elsewhere fails' virsh attach-device wrap $IMAGES/other.xml --live
denial=$(apparmor_lines_since_mark | grep -F 'name="/srv/e2e/elsewhere/other.qcow2"' | head -n 1)
check_match 'the kernel denied QEMU the disk elsewhere' "$denial" "apparmor=\"DENIED\".*profile=\"libvirt-$U1\""
fact 'plain attach denial' "$denial"
out=$(virt-aa-hook denials wrap 2>&1)
check_match 'virt-aa-hook denials names the domain and the path' "$out" "domain 'wrap' \(libvirt-$U1\): DENIED open \"/srv/e2e/elsewhere/other.qcow2\" r"
fact 'virt-aa-hook denials wrap' "$out"
check_not 'virsh domblklist does not show it' bash -c "virsh domblklist wrap | grep -q other.qcow2"
check 'virsh destroy wrap' virsh destroy wrap
end_scenario



# ---------------------------------------------------------------------------
begin_scenario static-label-legacy "a static label from an earlier version's retired 'enroll --mode libvirt': still confined after the upgrade, and unenroll takes it to libvirt's driver and our helper"
stop_libvirtd
check "libvirtd's and libvirt's helper's profiles (with our blocks) load" apparmor_parser -r /etc/apparmor.d/usr.sbin.libvirtd /etc/apparmor.d/usr.lib.libvirt.virt-aa-helper
set_security_driver apparmor
# What an earlier version left: the definition with our static label and our
# record, which libvirt reads at its start. The boot unit's `sync` loads the
# placeholder first, or libvirt would refuse the label.
sed -e "s|</devices>|</devices><seclabel type='static' model='apparmor' relabel='no'><label>libvirt-$U3</label></seclabel>|" \
	-e "s|<vcpu>|<metadata><vah:enrollment xmlns:vah='https://github.com/virt-aa-hook/virt-aa-hook/enrollment/1' mode='libvirt'/></metadata><vcpu>|" \
	$IMAGES/lab/domain.xml >/etc/libvirt/qemu/lab.xml
check 'virt-aa-hook sync loads the placeholder of the static label' virt-aa-hook sync
check 'the placeholder is loaded' profile_loaded "libvirt-$U3"
check 'libvirtd starts with the AppArmor driver' start_libvirtd
check_match 'libvirtd runs confined' "$(label_of_pid "$(cat /run/libvirtd.pid)")" '^(/usr/sbin/)?libvirtd \(enforce\)$'
check_match 'virsh capabilities shows the apparmor secmodel' "$(virsh capabilities)" '<model>apparmor</model>'
check_match 'libvirt kept the definition with our static label' "$(virsh dumpxml lab | grep -A1 "<seclabel type='static' model='apparmor'")" "libvirt-$U3"
check_not 'a new static-label enrolment is refused' virt-aa-hook enroll lab --mode libvirt
check 'virsh start lab' virsh start lab
confined_as lab $U3
check 'the profile reads the disk' read_as "libvirt-$U3" $IMAGES/lab/top.qcow2
check 'the profile reads the backing file' read_as "libvirt-$U3" $IMAGES/lab/base.qcow2
check 'the profile reads the cdrom' read_as "libvirt-$U3" $IMAGES/lab/cd.iso
check_not 'the profile cannot read /etc/shadow' read_as "libvirt-$U3" /etc/shadow
check_not "the profile cannot read the other guest's disk" read_as "libvirt-$U3" $IMAGES/wrap/top.qcow2
prepare=$(hook_lines lab | grep 'event=prepare')
check_match 'the hook loaded the profile' "$prepare" 'mode=libvirt .*outcome=loaded'
check_match "the hook ran in its own profile, not libvirtd's" "$prepare" 'hook_label="virt-aa-hook \(enforce\)"'
fact 'prepare log line' "$prepare"
check 'virsh destroy lab' virsh destroy lab
check 'after release the placeholder is loaded' profile_loaded "libvirt-$U3"
check_match 'the stopped event put the placeholder back' "$(hook_lines lab | grep 'event=stopped')" 'mode=libvirt outcome=placeholder'
check_match 'release keeps it (libvirt has dropped the label from the XML by then)' "$(hook_lines lab | grep 'event=release')" 'mode=libvirt outcome=placeholder'
# The way back: the label goes, and libvirt's driver gives the domain a dynamic label and runs our helper.
check 'virt-aa-hook unenroll lab' virt-aa-hook unenroll lab
check_not 'the static label is gone' bash -c "virsh --connect qemu:///system dumpxml lab | grep -q \"type='static' model='apparmor'\""
check 'virsh start lab (after unenroll)' virsh start lab
confined_as lab $U3
check_match "libvirt's driver labelled it dynamically" "$(virsh dumpxml lab)" "<seclabel type='dynamic' model='apparmor' relabel='yes'>"
check_match 'our helper made its profile' "$(grep -F "profile=libvirt-$U3 helper=" "$SYSLOG" | head -n 1)" 'helper="-c" mode=driver'
check 'virsh destroy lab (after unenroll)' virsh destroy lab
end_scenario

wait "$namespaces_pid"

# ---------------------------------------------------------------------------
begin_scenario denials 'no AppArmor denial of a profile of ours other than those provoked on purpose'
# What the scenarios provoke on purpose: /etc/shadow, the disk elsewhere, and
# static-label-legacy's guest reading the other guest's disk.
expected="name=\"(/etc/shadow|/srv/e2e/elsewhere/other.qcow2)\"|profile=\"libvirt-$U3\" name=\"$IMAGES/wrap/top.qcow2\""
check_no_unexpected_denials "$expected"
end_scenario

finish_boot
