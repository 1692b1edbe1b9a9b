#!/bin/busybox sh
# /init of the e2e guest's initramfs (test/e2e/helpers/initramfs.ts packs it
# with busybox and a few modules). Boots the HOST's own root, shared read-only
# over 9p, with a throwaway tmpfs overlay on top, then runs the test script
# named on the kernel command line as PID 1:
#
#   e2e.script=<path>     the script, run with /bin/bash
#   e2e.checkout=<path>   the checkout, shared on its own (tag "checkout") and
#                         mounted at the same path, so it is there even when it
#                         lives outside the root file system or under /tmp
#
# The share tagged "e2eout" (read-write) is mounted at /e2e: results and caches.
/bin/busybox --install -s /bin
export PATH=/bin

die() {
	echo "e2e-init: $*"
	echo o >/proc/sysrq-trigger
	sleep 10
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r module; do
	insmod "/lib/modules/$module.ko" || die "insmod $module failed"
done </modules.order

script= checkout=
for arg in $(cat /proc/cmdline); do
	case $arg in
	e2e.script=*) script=${arg#e2e.script=} ;;
	e2e.checkout=*) checkout=${arg#e2e.checkout=} ;;
	esac
done
[ -n "$script" ] || die "no e2e.script= on the kernel command line"

p9='trans=virtio,version=9p2000.L,msize=512000'
# cache=loose: the host root does not change under a test run, and without a
# cache every exec and library load is a round trip to the host.
mount -t 9p -o "$p9,ro,cache=loose" hostroot /lower || die "cannot mount the host root over 9p"
mount -t tmpfs -o size=1536m,mode=0755 tmpfs /upper || die "cannot mount the overlay's tmpfs"
mkdir /upper/u /upper/w
mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w /newroot || die "cannot mount the overlay"

r=/newroot
mount -t proc proc $r/proc
mount -t sysfs sysfs $r/sys
mount -t securityfs securityfs $r/sys/kernel/security 2>/dev/null
mount -t devtmpfs devtmpfs $r/dev
mkdir -p $r/dev/pts $r/dev/shm
mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts $r/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $r/dev/shm
mount -t tmpfs -o mode=0755 tmpfs $r/run
mount -t tmpfs -o mode=1777 tmpfs $r/tmp
if [ -n "$checkout" ]; then
	mkdir -p "$r$checkout"
	mount -t 9p -o "$p9,ro,cache=loose" checkout "$r$checkout" || die "cannot mount the checkout"
fi
mkdir -p $r/e2e
mount -t 9p -o "$p9" e2eout $r/e2e || die "cannot mount the e2e output share"

umount /proc /sys /dev 2>/dev/null
exec switch_root $r /bin/bash "$script"
