#!/bin/bash
# PID 1 of the e2e guest booted with AppArmor on, for issue 12: what a
# compromised guest can change between two starts (its image header, links
# in directories libvirt gives the QEMU user, its status file) must not widen
# its next profile or reach another guest. security_driver "none" and the
# emulator wrapper, as in apparmor.sh's wrapper-mode. Results go to $RESULTS
# (lib.sh), asserted by test/e2e/e2e.test.ts on the host.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap power_off EXIT
boot_basics

profile_file() { printf '/etc/apparmor.d/libvirt/libvirt-%s' "$1"; }
confined_as() { # domain uuid
	check_eq "QEMU of $1 runs as libvirt-$2 (enforce)" "$(label_of "$1")" "libvirt-$2 (enforce)"
}
# What the QEMU user itself can do, as a compromised QEMU would.
as_qemu() { setpriv --reuid=libvirt-qemu --regid=libvirt-qemu --init-groups -- "$@"; }
# virsh start that must fail: its output, for the checks that follow.
refused_start() { # domain
	local out
	if out=$(virsh start "$1" 2>&1); then
		fail "virsh start $1 is refused" "it started: $out"
	else
		pass "virsh start $1 is refused"
	fi
	REFUSAL=$(printf '%s\n' "$out" | grep -F 'virt-aa-hook: error:')
	fact "refusal of $1" "$REFUSAL"
}
domain_state() { virsh domstate "$1" 2>&1 | head -n 1; }
define_enrolled() { # name: defines $IMAGES/<name>/domain.xml and enrolls it in wrapper mode
	virsh define "$IMAGES/$1/domain.xml" >/dev/null
	check "virt-aa-hook enroll $1" virt-aa-hook enroll "$1"
}
started_guest() { # name uuid: a guest of make_guest, enrolled, started and confined
	make_guest "$1" "$2"
	define_enrolled "$1"
	check "virsh start $1" virsh start "$1"
	confined_as "$1" "$2"
}

prepare_host || exit 1

stage scenarios
U1=e2e00000-0000-4000-8000-000000000021 # rebased-header
U2=e2e00000-0000-4000-8000-000000000022 # nvram-swap
U4=e2e00000-0000-4000-8000-000000000024 # save-without-rule
U5=e2e00000-0000-4000-8000-000000000025 # gc-running

# ---------------------------------------------------------------------------
begin_scenario rebased-header 'an image header rebased onto a host file outside the pool while the domain is off: the next start is refused with our line, nothing else changes'
started_guest reb $U1
record=/var/lib/virt-aa-hook/images/$U1.json
check_match 'the start recorded where its chain lies' "$(cat "$record" 2>&1)" "\"$IMAGES/reb\""
check 'virsh destroy reb' virsh destroy reb
record_before=$(cat "$record" 2>&1)
# A host file outside the pool, such as a guest could name in its header.
mkdir -p /srv/e2e-outside
qemu-img create -q -f qcow2 /srv/e2e-outside/other.qcow2 8M
check 'qemu-img rebase -u onto /srv/e2e-outside/other.qcow2' qemu-img rebase -u -b /srv/e2e-outside/other.qcow2 -F qcow2 $IMAGES/reb/top.qcow2
refused_start reb
check_match 'virsh shows our one line naming the domain, the disk and the new path' "$REFUSAL" \
	"virt-aa-hook: error: domain 'reb', disk 'vda', path \"/srv/e2e-outside/other.qcow2\": refusing the backing file \(depth 1\) named by an image header: its directory \"/srv/e2e-outside\" is a new location since the last start"
check_eq 'the domain is shut off' "$(domain_state reb)" 'shut off'
check_not 'no QEMU was left running' test -e /run/libvirt/qemu/reb.pid
check_not "profile libvirt-$U1 is not loaded" profile_loaded "libvirt-$U1"
check_not 'no rules file was left behind' test -e "$(profile_file $U1).files"
check_eq 'the record is unchanged' "$(cat "$record" 2>&1)" "$record_before"
check_match 'the hook logged the refusal' "$(hook_lines reb | grep 'event=prepare' | tail -n 1)" 'outcome=failed: .*new location since the last start'
check 'rebased back, the domain starts again' bash -c "qemu-img rebase -u -b $IMAGES/reb/base.qcow2 -F qcow2 $IMAGES/reb/top.qcow2 && virsh --connect qemu:///system start reb"
check 'virsh destroy reb' virsh destroy reb
end_scenario

# ---------------------------------------------------------------------------
begin_scenario nvram-swap "a guest's NVRAM replaced by a symlink to another guest's, as the QEMU user can: the next start is refused with our line"
nvram=/var/lib/libvirt/qemu/nvram
install -d -o libvirt-qemu -g libvirt-qemu -m 0755 "$nvram"
make_guest swap $U2
# Direct firmware paths: the start is refused by the prepare hook, before
# libvirt or QEMU would look at the firmware.
sed -i "s|<boot dev='hd'/>|<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader><nvram>$nvram/swap_VARS.fd</nvram>&|" $IMAGES/swap/domain.xml
define_enrolled swap
# The other guest's variable store, with content to keep.
printf 'other guest variables\n' >"$nvram/other_VARS.fd"
chown libvirt-qemu:libvirt-qemu "$nvram/other_VARS.fd"
other_before=$(sha256sum "$nvram/other_VARS.fd")
check 'the QEMU user replaces swap_VARS.fd by a symlink to other_VARS.fd' as_qemu ln -sfn other_VARS.fd "$nvram/swap_VARS.fd"
refused_start swap
check_match 'virsh shows our one line naming the domain, the device and both paths' "$REFUSAL" \
	"virt-aa-hook: error: domain 'swap', os <nvram>, path \"$nvram/swap_VARS.fd\": refusing rwk access for the image: it resolves to \"$nvram/other_VARS.fd\" through the symlink \"$nvram/swap_VARS.fd\", in a directory the QEMU user \(libvirt-qemu\) can write"
check_eq 'the domain is shut off' "$(domain_state swap)" 'shut off'
check_not 'no QEMU was left running' test -e /run/libvirt/qemu/swap.pid
check_not "profile libvirt-$U2 is not loaded" profile_loaded "libvirt-$U2"
check_eq "the other guest's variables are untouched" "$(sha256sum "$nvram/other_VARS.fd")" "$other_before"
end_scenario

# ---------------------------------------------------------------------------
begin_scenario save-without-rule 'virsh managedsave + start, and virsh save + restore, work with no rule for the save image'
started_guest sav $U4
files=$(cat "$(profile_file $U4).files" 2>&1)
check_not 'the rules name no save image' grep -qE '\.save|/qemu/save' <<<"$files"
dmesg_mark
check 'virsh managedsave sav' virsh managedsave sav
check 'the managed-save image exists' test -s /var/lib/libvirt/qemu/save/sav.save
check 'virsh start sav (restores the managed save)' virsh start sav
check_match 'it resumed from the image' "$(domain_state sav)" '^running$'
check_not 'the managed-save image is gone after the restore' test -e /var/lib/libvirt/qemu/save/sav.save
confined_as sav $U4
check 'virsh save sav' virsh save sav $IMAGES/sav.save
check 'virsh restore' virsh restore $IMAGES/sav.save
confined_as sav $U4
denied=$(apparmor_lines_since_mark | grep -F 'apparmor="DENIED"' | grep -F "libvirt-$U4")
while IFS= read -r line; do [[ -z $line ]] || fact 'denial' "$line"; done <<<"$denied"
check_eq 'no AppArmor denial for the guest while it was saved and restored' "$denied" ''
check 'virsh destroy sav' virsh destroy sav
end_scenario

# ---------------------------------------------------------------------------
# Needs gc to leave a profile with tasks attached alone (issue 12, finding 9).
begin_scenario gc-running 'virt-aa-hook gc while a guest runs with its status file missing: the guest stays confined'
started_guest gcr $U5
pid_before=$(pid_of gcr)
check 'its status file is removed' rm /run/libvirt/qemu/gcr.xml
gc_out=$(virt-aa-hook gc 2>&1)
fact 'virt-aa-hook gc' "$gc_out"
check "profile libvirt-$U5 is still loaded" profile_loaded "libvirt-$U5"
check_eq 'the same QEMU still runs' "$(pid_of gcr)" "$pid_before"
check_eq "QEMU of gcr still runs as libvirt-$U5 (enforce)" "$(label_of_pid "$pid_before")" "libvirt-$U5 (enforce)"
check 'virsh destroy gcr' virsh destroy gcr
end_scenario

finish_boot
