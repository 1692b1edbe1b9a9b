#!/bin/bash
# PID 1 of the e2e guest booted with apparmor=0: a host without AppArmor.
# Enrolled and not enrolled guests start unconfined, the hook says so, and
# nothing fails. Results go to $RESULTS (lib.sh), asserted by
# test/e2e/e2e.test.ts on the host.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap power_off EXIT
boot_basics

prepare_host || exit 1

stage scenarios
U1=e2e00000-0000-4000-8000-000000000011
U2=e2e00000-0000-4000-8000-000000000012
make_guest wrap $U1
make_guest plain $U2
virsh define $IMAGES/wrap/domain.xml >/dev/null
virsh define $IMAGES/plain/domain.xml >/dev/null

begin_scenario apparmor-off 'kernel booted with apparmor=0: guests start unconfined, the hook says so, nothing fails'
check_eq 'the kernel has AppArmor off' "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null || echo absent)" N
check_match 'the installer said so' "$INSTALL_OUT" 'AppArmor is not enabled'
check 'virt-aa-hook enroll wrap' virt-aa-hook enroll wrap
check 'virsh start wrap (enrolled)' virsh start wrap
check_match 'the hook logged that AppArmor is off' "$(hook_lines wrap | grep 'event=prepare')" 'outcome=unconfined \(AppArmor is not enabled'
check_match 'the emulator wrapper said so in the domain log' "$(cat /var/log/libvirt/qemu/wrap.log)" 'AppArmor is not enabled: starting domain .* unconfined'
check_not 'no profile file was written' test -e /etc/apparmor.d/libvirt/libvirt-$U1
check 'virsh start plain (not enrolled)' virsh start plain
check 'virsh destroy wrap' virsh destroy wrap
check 'virsh destroy plain' virsh destroy plain
check_eq 'no hook event failed' "$(grep -F virt-aa-hook "$SYSLOG" | grep 'outcome=failed')" ''
end_scenario

finish_boot
