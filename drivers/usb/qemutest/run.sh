#!/usr/bin/env bash
# Boots a QEMU (TCG) guest whose configfs printer gadget is a real USB
# printer-class device, runs the usb and usblp driver tests in it
# (guest_test.go), and checks the console. See doc.go.
#
#   drivers/usb/qemutest/run.sh        (or: make -C drivers/usb/qemutest)
#
# Environment: PRINTPAY_QEMU_CACHE (kernel .deb cache, default
# ~/.cache/printpay-qemu), PRINTPAY_REQUIRE_TOOLS=1 (a missing tool fails
# instead of skipping), QEMU_TIMEOUT (seconds, default 180).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cache=${PRINTPAY_QEMU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/printpay-qemu}
timeout_s=${QEMU_TIMEOUT:-180}
GO=${GO:-go}

missing() {
	if [ "${PRINTPAY_REQUIRE_TOOLS:-}" = 1 ]; then
		echo "qemutest: FAIL: $1 (PRINTPAY_REQUIRE_TOOLS=1)" >&2
		exit 1
	fi
	echo "qemutest: SKIP: $1" >&2
	exit 0
}

for t in qemu-system-x86_64 busybox cpio gzip pkg-config apt-get dpkg-deb ldd; do
	command -v "$t" >/dev/null || missing "$t is not installed (apt-get install qemu-system-x86 busybox-static cpio pkg-config)"
done
pkg-config --exists libusb-1.0 || missing "libusb-1.0-0-dev is not installed"
busybox --list | grep -qx insmod || missing "busybox has no insmod (install busybox-static)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. The kernel: the package linux-image-amd64 points to, from the cache.
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
pkg=${pkg:-linux-image-6.1.0-56-amd64}
mkdir -p "$cache"
deb=$(ls "$cache"/"$pkg"_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
	echo "qemutest: downloading $pkg" >&2
	(cd "$cache" && apt-get download "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) ||
		missing "cannot download $pkg (run apt-get update)"
	deb=$(ls "$cache"/"$pkg"_*.deb | head -1)
fi
ver=${pkg#linux-image-}
mods=(drivers/usb/common/usb-common drivers/usb/core/usbcore drivers/usb/gadget/udc/udc-core
	drivers/usb/gadget/udc/dummy_hcd fs/configfs/configfs drivers/usb/gadget/libcomposite
	drivers/usb/gadget/function/usb_f_printer drivers/usb/class/usblp)
members=("./boot/vmlinuz-$ver")
for m in "${mods[@]}"; do members+=("./lib/modules/$ver/kernel/$m.ko"); done
mkdir -p "$work/k"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/k" "${members[@]}"

# 2. The test binary (cgo, libusb).
"$GO" -C "$root" test -c -tags 'usb qemuguest' -o "$work/guest.test" ./drivers/usb/qemutest

# 3. The initramfs.
r="$work/root"
mkdir -p "$r"/{bin,dev,proc,sys,tmp,lib/modules}
cp "$(command -v busybox)" "$r/bin/busybox"
for a in $(busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"; done
for m in "${mods[@]}"; do cp "$work/k/lib/modules/$ver/kernel/$m.ko" "$r/lib/modules/"; done
cp "$work/guest.test" "$r/guest.test"
for lib in $(ldd "$work/guest.test" | awk '/=> \// {print $3} /^[[:space:]]*\/[^ ]*ld-linux/ {print $1}'); do
	mkdir -p "$r$(dirname "$lib")"
	cp -L "$lib" "$r$lib"
done
cat >"$r/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in usb-common usbcore udc-core dummy_hcd configfs libcomposite usb_f_printer; do
	insmod /lib/modules/$m.ko || echo "QEMUTEST insmod $m failed"
done
mount -t configfs none /sys/kernel/config
G=/sys/kernel/config/usb_gadget/pos
mkdir $G
echo 0x0416 > $G/idVendor
echo 0x5011 > $G/idProduct
mkdir -p $G/strings/0x409
echo Virtual > $G/strings/0x409/manufacturer
echo POS58 > $G/strings/0x409/product
echo QEMU0001 > $G/strings/0x409/serialnumber
mkdir $G/functions/printer.usb0
echo "MFG:Virtual;MDL:POS58;CMD:ESC/POS;CLS:PRINTER;" > $G/functions/printer.usb0/pnp_string
mkdir $G/configs/c.1
ln -s $G/functions/printer.usb0 $G/configs/c.1/
ls /sys/class/udc > $G/UDC
/guest.test -test.v -test.timeout 150s
echo "QEMUTEST EXIT $?"
poweroff -f
INIT
chmod +x "$r/init"
(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"

# 4. Boot. KVM hangs this kernel on these hosts; TCG works (platform.md §6).
console="$work/console.log"
timeout "$timeout_s" qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nographic -no-reboot -nodefaults \
	-serial stdio -kernel "$work/k/boot/vmlinuz-$ver" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 quiet loglevel=3 panic=-1" </dev/null >"$console" 2>&1 || true
tr -d '\r' <"$console" >"$console.txt"

# 5. Assert on what the guest printed.
grep -E '^(QEMUTEST|--- |=== RUN|\s+--- |\s+guest_test\.go|PASS|FAIL|ok)' "$console.txt" || true
fail=0
for want in \
	'QEMUTEST gousb job 65536 bytes sha256 .* ok' \
	'QEMUTEST gousb DLE EOT reply 0x16 in cache ok' \
	'QEMUTEST gousb 1284 id ".*MDL:POS58.*" ok' \
	'QEMUTEST gousb port status paper-out ok' \
	'QEMUTEST gousb stalled bulk OUT bounded .* then resumed ok' \
	'QEMUTEST gousb unplugged write refused ok' \
	'QEMUTEST gousb rebind resumed queued jobs in order ok' \
	'QEMUTEST usblp list /dev/usb/lp0 0416:5011 ok' \
	'QEMUTEST usblp job 65536 bytes sha256 .* ok' \
	'QEMUTEST usblp DLE EOT reply 0x16 in cache ok' \
	'QEMUTEST usblp 1284 id ".*MDL:POS58.*" ok' \
	'QEMUTEST usblp unplugged write refused ok' \
	'QEMUTEST usblp rebind resumed queued jobs in order ok' \
	'QEMUTEST gousb with usblp bound \(detached\) ok' \
	'QEMUTEST EXIT 0'; do
	if ! grep -qE "^$want\$" "$console.txt"; then
		echo "qemutest: missing: $want" >&2
		fail=1
	fi
done
if [ $fail != 0 ]; then
	echo "qemutest: FAIL; console tail:" >&2
	tail -40 "$console.txt" >&2
	exit 1
fi
echo "qemutest: ok"
