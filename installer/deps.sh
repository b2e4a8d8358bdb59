#!/usr/bin/env bash
# Installs what `make test-installers` runs against: headless Wine and
# binutils for the ProcessPrng stand-in DLL, NSIS, wixl, msitools and osslsigncode for the
# setup and the MSI, CUPS for the queue, systemd for `systemd-analyze verify`. As root it
# installs what is missing; otherwise it prints the exact command and fails.
set -u
PKGS=(wine wine64 binutils-mingw-w64-x86-64 nsis wixl msitools osslsigncode openssl systemd cups cups-client adduser)
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
  echo "test-installers: run as root:"
  echo "  apt-get update && DEBIAN_FRONTEND=noninteractive $cmd"
  # The package tests skip without these; under PRINTPAY_REQUIRE_TOOLS=1
  # (CI) a missing tool is a failure.
  [ "${PRINTPAY_REQUIRE_TOOLS:-}" = 1 ] && exit 1
  exit 0
fi
echo "test-installers: installing ${missing[*]}"
apt-get update -qq >/dev/null 2>&1 || apt-get update
DEBIAN_FRONTEND=noninteractive $cmd >/tmp/printpay-installer-apt.log 2>&1 || {
  tail -20 /tmp/printpay-installer-apt.log
  echo "test-installers: apt-get failed (see above)"
  exit 1
}
