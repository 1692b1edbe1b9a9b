#!/bin/bash
# PID 1 of the e2e guest for hosts WITH libvirt's AppArmor driver: libvirtd
# under Debian's profile, security_driver = "apparmor", our virt-aa-helper in
# place of libvirt's, and no enrol step: installed with the Debian package
# (dpkg -i of the .deb the host built before the boot, /e2e/packages/), the
# one boot that proves the package in a kernel that enforces AppArmor; its
# last scenario removes it while a guest runs. Every
# domain, however it was made, must run in our profile; hotplug, media
# changes, snapshots, block jobs and save/restore through libvirt's own API
# must work with no denial. Results go to $RESULTS (lib.sh), asserted by
# test/e2e/e2e.test.ts on the host.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap power_off EXIT
boot_basics

profile_file() { printf '/etc/apparmor.d/libvirt/libvirt-%s' "$1"; }
EMULATOR=/usr/bin/qemu-system-x86_64
read_as() { # profile file: as lib.sh's wrapper scenarios do, the emulator's path runs head
	unshare -m --propagation private sh -c 'mount --bind /usr/bin/head "$1" && exec aa-exec -p "$2" -- "$1" -c 16 "$3"' sh "$EMULATOR" "$1" "$2" >/dev/null
}
confined_as() { # domain uuid
	check_eq "QEMU of $1 runs as libvirt-$2 (enforce)" "$(label_of "$1")" "libvirt-$2 (enforce)"
}
# Our helper's log lines for one profile, the command it was run with.
helper_call_count() { # uuid [syslog line to start at]: calls by command, e.g. "-D:2, -c:3, -r -F:21"
	tail -n +"${2:-1}" "$SYSLOG" | grep -F "profile=libvirt-$1 helper=" | sed -E 's/.* helper="([^"]*)".*/\1/' |
		sed -E 's/ (-[fF]) .*/ \1/' | sort | uniq -c | awk '{ n = $1; $1 = ""; sub(/^ /, ""); printf "%s%s:%s", sep, $0, n; sep = ", " }'
}
# Where the system log ends now: helper_call_count from there counts this scenario's calls.
syslog_mark() { SYSLOG_MARK=$(($(wc -l <"$SYSLOG") + 1)); }
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
no_denials_of() { # uuid: since the mark, but the /etc/shadow read provoked on purpose
	! apparmor_lines_since_mark | grep -F 'apparmor="DENIED"' | grep "profile=\"libvirt-$1" | grep -qvF 'name="/etc/shadow"'
}
files_of() { cat "$(profile_file "$1").files" 2>/dev/null; }

# The daemon under Debian's profile, libvirt's driver on. Its log keeps what
# it ran and what those programs printed (virt-aa-helper's stderr among it).
confine_libvirtd() {
	stop_libvirtd
	grep -q '^log_outputs' /etc/libvirt/libvirtd.conf || printf 'log_filters="1:util.command 1:security 4:*"\nlog_outputs="1:file:/var/log/libvirt/libvirtd-e2e.log"\n' >>/etc/libvirt/libvirtd.conf
	apparmor_parser -r /etc/apparmor.d/usr.sbin.libvirtd /etc/apparmor.d/usr.lib.libvirt.virt-aa-helper || return 1
	set_security_driver apparmor
	start_libvirtd
}

U20=e2e00000-0000-4000-8000-000000000020 # reference, libvirt's own helper
U21=e2e00000-0000-4000-8000-000000000021 # plain virsh define
U22=e2e00000-0000-4000-8000-000000000022 # permissive daemon profile

# ---------------------------------------------------------------------------
stage reset
reset_host_state
write_config '{}'

# libvirt's own path first, for the reference timing of the same start.
stage libvirt-own
LIBVIRT_HELPER_MAGIC=$(head -c 4 /usr/lib/libvirt/virt-aa-helper | tail -c 3)
confine_libvirtd || say 'libvirtd did not start under its profile'
make_guest ref $U20
sed -i '/<emulator>/d' $IMAGES/ref/domain.xml
virsh define $IMAGES/ref/domain.xml >/dev/null
START_MS_LIBVIRT=()
for i in 1 2 3; do
	t0=$(now_ms)
	virsh start ref >/dev/null 2>&1 || say "virsh start ref (libvirt's helper) failed"
	START_MS_LIBVIRT+=($(($(now_ms) - t0)))
	REF_LABEL=$(label_of ref)
	virsh destroy ref >/dev/null 2>&1
done
virsh undefine ref >/dev/null 2>&1
stop_libvirtd

stage install
# The configuration written above is kept over the package's conffile (--force-confold).
DEB=$E2E_ROOT/packages/virt-aa-hook.deb
# man-db's dpkg trigger would rebuild its index of every page under TCG: off in this throwaway overlay.
rm -f /var/lib/man-db/auto-update
INSTALL_OUT=$(DEBIAN_FRONTEND=noninteractive dpkg --force-confold -i "$DEB" </dev/null 2>&1) || say "dpkg -i $DEB failed: $INSTALL_OUT"
stage libvirtd
confine_libvirtd || say 'libvirtd did not start under its profile with our blocks'

stage scenarios
# ---------------------------------------------------------------------------
begin_scenario driver-default "every domain runs in our profile through libvirt's driver: virt-install, a plain virsh define, no enrol step"
fact 'libvirt helper, virsh start ms (3 starts)' "${START_MS_LIBVIRT[*]}"
check_eq "before the install, libvirt's own helper (an ELF) is at its path" "$LIBVIRT_HELPER_MAGIC" 'ELF'
check_eq "libvirt's own helper confined the reference guest" "$REF_LABEL" "libvirt-$U20 (enforce)"
check 'our helper is at libvirt'"'"'s path' grep -q virt-aa-hook /usr/lib/libvirt/virt-aa-helper
check_eq 'the package is installed' "$(dpkg-query -W -f='${Status}' virt-aa-hook 2>&1)" 'install ok installed'
check_eq "libvirt's own helper was diverted aside by the package" "$(dpkg-divert --list /usr/lib/libvirt/virt-aa-helper)" 'diversion of /usr/lib/libvirt/virt-aa-helper to /usr/lib/libvirt/virt-aa-helper.distrib by virt-aa-hook'
check_match "the package's postinst loaded the hook's profile" "$(cat /sys/kernel/security/apparmor/profiles)" '(^|
)virt-aa-hook \(enforce\)'
check_match "postinst put our block in libvirtd's local profile" "$(cat /etc/apparmor.d/local/usr.sbin.libvirtd)" '/etc/libvirt/hooks/qemu Px -> virt-aa-hook,'
check_match 'libvirtd runs confined' "$(label_of_pid "$(cat /run/libvirtd.pid)")" '^(/usr/sbin/)?libvirtd \(enforce\)$'
check_match 'virsh capabilities shows the apparmor secmodel' "$(virsh capabilities)" '<model>apparmor</model>'
make_guest plain $U21
# No <emulator>: libvirt fills in the one it finds, as for virt-install's domains.
sed -i '/<emulator>/d' $IMAGES/plain/domain.xml
check 'virsh define plain (no seclabel, no enrol)' virsh define $IMAGES/plain/domain.xml
dmesg_mark
START_MS_OURS=()
for i in 1 2 3; do
	t0=$(now_ms)
	check "virsh start plain (#$i)" virsh start plain
	START_MS_OURS+=($(($(now_ms) - t0)))
	[[ $i == 3 ]] || virsh destroy plain >/dev/null 2>&1
done
fact 'our helper, virsh start ms (3 starts)' "${START_MS_OURS[*]}"
ours=$(median "${START_MS_OURS[@]}") theirs=$(median "${START_MS_LIBVIRT[@]}")
fact 'virsh start, median: ours / libvirt helper' "$ours ms / $theirs ms = $(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2fx", a / b }')"
confined_as plain $U21
check_match 'the loaded profile is ours: it includes our abstraction' "$(cat "$(profile_file $U21)")" 'abstractions/virt-aa-hook/qemu'
check_match "virsh dominfo says Security model: apparmor" "$(virsh dominfo plain)" 'Security model: *apparmor'
check_match 'virsh dumpxml shows the seclabel' "$(virsh dumpxml plain)" "<seclabel type='dynamic' model='apparmor' relabel='yes'>"
check 'the profile reads the disk' read_as "libvirt-$U21" $IMAGES/plain/top.qcow2
check 'the profile reads the backing file' read_as "libvirt-$U21" $IMAGES/plain/base.qcow2
check_not 'the profile cannot read /etc/shadow' read_as "libvirt-$U21" /etc/shadow
check_match 'the hook left the domain to the driver' "$(hook_lines plain | grep 'event=prepare' | tail -n 1)" "mode=driver outcome=left to libvirt's AppArmor driver"
check_match 'the started event saw QEMU confined' "$(hook_lines plain | grep 'event=started' | tail -n 1)" 'mode=driver .*outcome=confined'
calls=$(helper_call_count $U21)
fact 'helper calls (plain)' "$calls"
check_match 'libvirt ran our helper with -c' "$calls" '(^|, )-c:'
check_match 'libvirt ran our helper with -r -F' "$calls" '(^|, )-r -F:'
check_match 'libvirt ran our helper with -D at each stop' "$calls" '(^|, )-D:2(,|$)'
# virt-install, as an admin or a tool makes a VM: it leaves <emulator> unset.
mkdir -p $IMAGES/vi
qemu-img create -q -f qcow2 -b $IMAGES/plain/base.qcow2 -F qcow2 $IMAGES/vi/disk.qcow2
check 'virt-install --import --noautoconsole' virt-install --connect qemu:///system --name vi --memory 64 --vcpus 1 --import --disk $IMAGES/vi/disk.qcow2,format=qcow2 --osinfo generic --network none --graphics none --noautoconsole --virt-type qemu
UVI=$(virsh domuuid vi 2>/dev/null | tr -d '[:space:]')
wait_until 60 virsh domid vi
confined_as vi "$UVI"
check_match "virt-install's domain has our profile" "$(cat "$(profile_file "$UVI")")" 'abstractions/virt-aa-hook/qemu'
check 'virsh destroy vi' virsh destroy vi
check_not "vi's profile is unloaded after destroy (-D)" profile_loaded "libvirt-$UVI"
check_not "vi's generated rules are removed" test -e "$(profile_file "$UVI").files"
check 'no denial of our profiles since the start' no_denials_of $U21
end_scenario

# ---------------------------------------------------------------------------
begin_scenario driver-hotplug 'attach-disk, detach-disk and change-media through libvirt: the profile grows and shrinks, /etc is refused with our line'
for f in hot1 hot2; do qemu-img create -q -f qcow2 $IMAGES/plain/$f.qcow2 8M; done
truncate -s 64K $IMAGES/plain/cd2.iso
dmesg_mark
syslog_mark
check 'virsh attach-disk (virtio)' virsh attach-disk plain $IMAGES/plain/hot1.qcow2 vdb --subdriver qcow2 --live
check_match 'the guest has vdb' "$(virsh domblklist plain)" "vdb +$IMAGES/plain/hot1.qcow2"
check_match 'the profile grew: hot1' "$(files_of $U21)" "$IMAGES/plain/hot1.qcow2"
check 'virsh attach-disk (USB)' virsh attach-disk plain $IMAGES/plain/hot2.qcow2 sdb --targetbus usb --subdriver qcow2 --live
check_match 'the guest has sdb' "$(virsh domblklist plain)" "sdb +$IMAGES/plain/hot2.qcow2"
check_match 'the profile grew: hot2' "$(files_of $U21)" "$IMAGES/plain/hot2.qcow2"
check 'virsh detach-disk (USB)' virsh detach-disk plain sdb --live
check 'the guest no longer has sdb' wait_until 30 bash -c "! virsh --connect qemu:///system domblklist plain | grep -q sdb"
check 'the profile shrank: hot2 gone' wait_until 30 bash -c "! grep -q hot2 $(profile_file $U21).files"
check_match 'the profile still has the attached hot1' "$(files_of $U21)" "$IMAGES/plain/hot1.qcow2"
# A guest without an OS never acknowledges a virtio unplug (test-environment.md): libvirt says it detached, QEMU keeps the disk.
check 'virsh detach-disk (virtio) is accepted' virsh detach-disk plain vdb --live
check 'virsh change-media --eject' virsh change-media plain hdc --eject --live
check 'virsh change-media --insert' virsh change-media plain hdc $IMAGES/plain/cd2.iso --insert --live
check_match 'the guest has the new media' "$(virsh domblklist plain)" "hdc +$IMAGES/plain/cd2.iso"
check_match 'the profile grew: cd2.iso' "$(files_of $U21)" "$IMAGES/plain/cd2.iso"
check 'no denial of our profile during the hotplugs' no_denials_of $U21
truncate -s 1M /etc/e2e-disk.img
if out=$(virsh attach-disk plain /etc/e2e-disk.img vdd --live 2>&1); then
	fail 'an attach of a disk under /etc is refused' "it was attached: $out"
else
	pass 'an attach of a disk under /etc is refused'
fi
# libvirt 9.0 replaces the helper's message with its own in the API error
# (reload_profile after virCommandRun): virsh names the profile, and our line
# is in libvirtd's log (at error level: the journal on a systemd host) and in
# the system log.
check_match "virsh's error names the profile" "$out" "cannot update AppArmor profile 'libvirt-$U21'"
check_match "libvirtd's log has our line" "$(grep -F 'e2e-disk.img' /var/log/libvirt/libvirtd-e2e.log | grep ' error : ')" 'unexpected exit status 1: virt-aa-hook: error: domain .plain., libvirt at run time, path "/etc/e2e-disk.img": .*/etc is restricted'
check_match 'the system log has our line' "$(grep -F 'helper="-r -F /etc/e2e-disk.img"' "$SYSLOG")" 'outcome=failed: .*/etc is restricted'
fact 'refused attach' "$out"
check_not 'the refused disk is not in the profile' grep -q e2e-disk "$(profile_file $U21).files"
calls=$(helper_call_count $U21 "$SYSLOG_MARK")
fact 'helper calls (plain, hotplug)' "$calls"
check_match 'each attach and media change reached our helper as -r -F' "$calls" '(^|, )-r -F:[3-9]'
check_match 'the unplug reached it as -r' "$calls" '(^|, )-r:[1-9]'
end_scenario

# ---------------------------------------------------------------------------
begin_scenario driver-blockjobs 'an external snapshot, an active block commit with pivot and a block pull through libvirt, no denial'
dmesg_mark
syslog_mark
# Every disk the domain still has needs a spec: vdb may linger (see driver-hotplug).
specs=(--diskspec vda,snapshot=external,file=$IMAGES/plain/snap1.qcow2 --diskspec hdc,snapshot=no)
if virsh domblklist plain | grep -q '^ *vdb '; then specs+=(--diskspec vdb,snapshot=no); fi
check 'virsh snapshot-create-as --disk-only' virsh snapshot-create-as plain snap1 --disk-only --no-metadata "${specs[@]}"
check_match 'vda is now the overlay' "$(virsh domblklist plain)" "vda +$IMAGES/plain/snap1.qcow2"
check_match 'the profile has the overlay' "$(files_of $U21)" "$IMAGES/plain/snap1.qcow2"
check 'virsh blockcommit --active --shallow --pivot' virsh blockcommit plain vda --active --shallow --pivot --wait
check_match 'vda is back on top.qcow2' "$(virsh domblklist plain)" "vda +$IMAGES/plain/top.qcow2"
check 'virsh blockpull' virsh blockpull plain vda --wait
check 'no denial of our profile during the block jobs' no_denials_of $U21
calls=$(helper_call_count $U21 "$SYSLOG_MARK")
fact 'helper calls (plain, block jobs)' "$calls"
check_match "the jobs' layers reached our helper as -r -F" "$calls" '(^|, )-r -F:[1-9]'
end_scenario

# ---------------------------------------------------------------------------
begin_scenario driver-save-restore 'virsh save/restore and managedsave/start: confined after each'
syslog_mark
check 'virsh save' virsh save plain $IMAGES/plain.save
check_not 'the profile is unloaded while saved' profile_loaded "libvirt-$U21"
check 'virsh restore' virsh restore $IMAGES/plain.save
confined_as plain $U21
check 'virsh managedsave' virsh managedsave plain
check 'virsh start (from the managed save)' virsh start plain
confined_as plain $U21
calls=$(helper_call_count $U21 "$SYSLOG_MARK")
fact 'helper calls (plain, save and restore)' "$calls"
check_match 'each save ended in our helper -D' "$calls" '(^|, )-D:2(,|$)'
check_match 'each restore began with our helper -c' "$calls" '(^|, )-c:2(,|$)'
check 'virsh destroy plain' virsh destroy plain
check_not 'the profile is unloaded after destroy' profile_loaded "libvirt-$U21"
end_scenario

# ---------------------------------------------------------------------------
begin_scenario driver-permissive-daemon "a daemon its distribution ships unconfined: our permissive profile for it turns libvirt's driver, and with it our helper, on"
stop_libvirtd
apparmor_parser -R /etc/apparmor.d/usr.sbin.libvirtd
check_not 'no libvirtd profile is loaded' profile_loaded libvirtd
/usr/sbin/libvirtd -d
if wait_until 20 virsh version; then fail 'unconfined, libvirtd refuses security_driver "apparmor"' 'it started'; stop_libvirtd; else pass 'unconfined, libvirtd refuses security_driver "apparmor"'; fi
sed 's/@DAEMON@/libvirtd/g' "$E2E_CHECKOUT/apparmor.d/daemon/permissive" >/run/e2e-permissive-libvirtd
check 'our permissive daemon profile loads' apparmor_parser -r /run/e2e-permissive-libvirtd
check 'libvirtd starts under it with the AppArmor driver' start_libvirtd
check_match 'libvirtd runs in the permissive profile' "$(label_of_pid "$(cat /run/libvirtd.pid)")" '^libvirtd \(enforce\)$'
make_guest perm $U22
sed -i '/<emulator>/d' $IMAGES/perm/domain.xml
check 'virsh define perm' virsh define $IMAGES/perm/domain.xml
check 'virsh start perm' virsh start perm
confined_as perm $U22
check_match 'its profile is ours' "$(cat "$(profile_file $U22)")" 'abstractions/virt-aa-hook/qemu'
check_match 'our helper made it' "$(helper_call_count $U22)" '(^|, )-c:1(,|$)'
check 'virsh destroy perm' virsh destroy perm
end_scenario

# ---------------------------------------------------------------------------
begin_scenario doctor-status-driver "doctor and status where libvirt's driver confines: healthy, then the hook changed after libvirtd started, the helper's profile unloaded, its override changed since it was loaded, a domain that opts out of the driver's label"
U23=e2e00000-0000-4000-8000-000000000023 # doctor and status
U24=e2e00000-0000-4000-8000-000000000024 # <seclabel type='none'/>
# The host as an admin keeps it: libvirtd under Debian's profile with our
# blocks (driver-permissive-daemon left it in our permissive one).
check 'libvirtd under its own profile again' confine_libvirtd
# The reference guest ran under libvirt's own helper before our install: its
# profile is libvirt's leftover, not this scenario's subject.
rm -f /etc/apparmor.d/libvirt/libvirt-$U20 /etc/apparmor.d/libvirt/libvirt-$U20.files
# status reads the hook's and the helper's lines where syslog daemons write them.
ln -sf "$SYSLOG" /var/log/syslog
make_guest doc $U23
sed -i '/<emulator>/d' $IMAGES/doc/domain.xml
check 'virsh define doc' virsh define $IMAGES/doc/domain.xml
check 'virsh start doc' virsh start doc
confined_as doc $U23
run_doctor "healthy"
check_eq 'doctor exits 0 on the healthy host' "$DOCTOR_RC" 0
check_match "doctor names the driver's path" "$DOCTOR_OUT" "confinement-path +the confinement path: libvirt's AppArmor driver, which runs virt-aa-hook's virt-aa-helper"
check_match 'doctor: libvirtd runs confined' "$DOCTOR_OUT" 'libvirtd \(pid [0-9]+\), confined as "(/usr/sbin/)?libvirtd \(enforce\)"'
for id in apparmor abi daemon confinement-path hook hook-seen node helper helper-profile setup daemon-path capabilities running-domains stale-profiles; do
	check_eq "doctor: $id is ok" "$(doctor_state $id)" ok
done
check_match "doctor: the kernel's virt-aa-helper is what its files compile to" "$DOCTOR_OUT" 'helper-profile +.*virt-aa-helper is loaded, exactly as its files compile now'
out=$(virt-aa-hook status doc 2>&1)
fact 'status doc' "$out"
check_match 'status: confined by the driver with our helper' "$out" "confinement: libvirt's AppArmor driver, with virt-aa-hook's virt-aa-helper"
check_match 'status: its profile is loaded, enforced, made from our template' "$out" "profile: +libvirt-$U23 loaded \(enforce\), [0-9]+ rule\(s\), made from our template"
check_match "status: QEMU's label" "$out" "QEMU label: +libvirt-$U23 \(enforce\)"
check_match 'status: the last hook or helper event' "$out" 'last event: +.*(event=started/begin: confined|helper="[^"]*": (loaded|unchanged))'
check_match 'status: no denial, and where it looked' "$out" 'denials: +0 in '
check_match 'status: where it read the events' "$out" '# hook and helper events from /var/log/syslog; AppArmor records from '
# Broken: the hook changed after libvirtd started (libvirt looks for hooks when it starts).
touch /etc/libvirt/hooks/qemu
run_doctor "the hook changed"
check_eq 'doctor exits 1 when the hook changed after libvirtd started' "$DOCTOR_RC" 1
check_eq 'doctor: hook-seen fails' "$(doctor_state hook-seen)" FAIL
check_eq 'doctor: its fix restarts libvirtd (no PATH of ours with the driver)' "$(doctor_fixes hook-seen)" "kill $(cat /run/libvirtd.pid); libvirtd -d"
stop_libvirtd
check 'the fix: libvirtd restarted' start_libvirtd
# Broken: libvirt's profile for its helper unloaded (no domain starts meanwhile: libvirtd could not run the helper).
apparmor_parser -R /etc/apparmor.d/usr.lib.libvirt.virt-aa-helper
run_doctor "restarted; the helper's profile unloaded"
check_eq 'after the restart, hook-seen is ok' "$(doctor_state hook-seen)" ok
check_eq "doctor: helper-profile fails without the helper's profile" "$(doctor_state helper-profile)" FAIL
fix=$(doctor_fixes helper-profile)
check_eq 'doctor: its fix loads the profile' "$fix" 'apparmor_parser -r /etc/apparmor.d/usr.lib.libvirt.virt-aa-helper'
check 'the fix runs' bash -c "$fix"
# Broken: the helper's local override changed since its profile was loaded.
override=/etc/apparmor.d/local/usr.lib.libvirt.virt-aa-helper
printf 'deny /srv/doctor-e2e/** w,\n' >>$override
run_doctor "the helper's override changed since it was loaded"
check_eq 'doctor: helper-profile fails when the kernel has another text' "$(doctor_state helper-profile)" FAIL
check_match 'doctor: it says so' "$DOCTOR_OUT" "helper-profile +.*the kernel's virt-aa-helper is not what /etc/apparmor.d/usr.lib.libvirt.virt-aa-helper compiles to now"
fix=$(doctor_fixes helper-profile)
check 'the fix runs' bash -c "$fix"
# Broken: a domain that opts out of the driver's label runs unconfined (the default policy warns).
make_guest optout $U24
sed -i -e '/<emulator>/d' -e "s|</devices>|</devices><seclabel type='none'/>|" $IMAGES/optout/domain.xml
check 'virsh define optout (seclabel none)' virsh define $IMAGES/optout/domain.xml
check 'virsh start optout' virsh start optout
check_eq 'its QEMU is unconfined' "$(label_of optout)" unconfined
run_doctor "an unconfined domain runs"
check_eq 'doctor exits 1 while an unconfined domain runs' "$DOCTOR_RC" 1
check_eq 'doctor: running-domains fails' "$(doctor_state running-domains)" FAIL
check_match 'doctor: it names the domain and why' "$DOCTOR_OUT" "'optout' not confined: libvirt's AppArmor driver is active but does not label it"
check_match 'doctor: the fix' "$(doctor_fixes running-domains)" "^virsh edit optout   # remove <seclabel type='none'/>"
check_eq "doctor: helper-profile is ok after its fix" "$(doctor_state helper-profile)" ok
out=$(virt-aa-hook status optout 2>&1)
fact 'status optout' "$out"
check_match 'status: not confined, and why' "$out" "confinement: not confined: libvirt's AppArmor driver is active but does not label it"
check_match "status: QEMU's label" "$out" 'QEMU label: +unconfined'
check_match 'status: its last hook event' "$out" 'last event: +.*event=started/begin: not ours \(unenrolled\)'
check 'virsh destroy optout' virsh destroy optout
check 'virsh destroy doc' virsh destroy doc
sed -i '/doctor-e2e/d' $override
check "the helper's profile without the test's line" apparmor_parser -r /etc/apparmor.d/usr.lib.libvirt.virt-aa-helper
run_doctor 'at the end'
check_eq 'doctor exits 0 again' "$DOCTOR_RC" 0
# The scenarios after this one define their own guests; these two are done.
check 'virsh undefine doc' virsh undefine doc
check 'virsh undefine optout' virsh undefine optout
end_scenario

# ---------------------------------------------------------------------------
begin_scenario driver-denials 'no AppArmor denial of a profile of ours beyond those provoked on purpose'
expected='name="/etc/shadow"'
check_no_unexpected_denials "$expected"
end_scenario

# ---------------------------------------------------------------------------
begin_scenario driver-package-remove "dpkg -r and dpkg -P while a guest runs: it stays running in its profile; libvirt's helper and libvirtd's local profile as before"
U25=e2e00000-0000-4000-8000-000000000025 # kept running through dpkg -r and -P
check 'libvirtd under its distribution profile again' confine_libvirtd
make_guest keep $U25
sed -i '/<emulator>/d' $IMAGES/keep/domain.xml
check 'virsh define keep' virsh define $IMAGES/keep/domain.xml
check 'virsh start keep' virsh start keep
confined_as keep $U25
KEEP_PID=$(pid_of keep)
check 'dpkg -r virt-aa-hook' env DEBIAN_FRONTEND=noninteractive dpkg -r virt-aa-hook
check 'the QEMU of keep still runs' kill -0 "$KEEP_PID"
confined_as keep $U25
check "keep's profile is still loaded" profile_loaded "libvirt-$U25"
check_eq "libvirt's own helper (an ELF) is back at its path" "$(head -c 4 /usr/lib/libvirt/virt-aa-helper | tail -c 3)" 'ELF'
check_eq 'no diversion left' "$(dpkg-divert --list /usr/lib/libvirt/virt-aa-helper)" ''
check_not 'the hook is gone' test -e /etc/libvirt/hooks/qemu
check_not "our block is out of libvirtd's local profile" grep -q virt-aa-hook /etc/apparmor.d/local/usr.sbin.libvirtd
check_not "the hook's profile is unloaded" profile_loaded virt-aa-hook
check 'dpkg -P virt-aa-hook' env DEBIAN_FRONTEND=noninteractive dpkg -P virt-aa-hook
check_not 'the state, the cache and the configuration are gone' bash -c 'ls -d /var/lib/virt-aa-hook /var/cache/apparmor/virt-aa-hook /etc/virt-aa-hook 2>/dev/null | grep .'
check 'the QEMU of keep still runs after the purge' kill -0 "$KEEP_PID"
confined_as keep $U25
virsh destroy keep >/dev/null 2>&1
end_scenario

cp /var/log/libvirt/libvirtd-e2e.log "$E2E_RUN/libvirtd.log" 2>/dev/null
finish_boot
