#!/bin/sh
# printpay postrm: removal keeps the configuration, token and spool; purge
# deletes them and the system user.
set -e
case "$1" in
remove)
  if command -v deb-systemd-helper >/dev/null; then
    deb-systemd-helper mask printpay.service >/dev/null || true
  fi
  ;;
purge)
  rm -rf /etc/printpay /var/lib/printpay /var/log/printpay
  if command -v deb-systemd-helper >/dev/null; then
    deb-systemd-helper purge printpay.service >/dev/null || true
    deb-systemd-helper unmask printpay.service >/dev/null || true
  fi
  if getent passwd printpay >/dev/null; then
    deluser --system --quiet printpay >/dev/null 2>&1 || true
  fi
  if getent group printpay >/dev/null; then
    delgroup --system --quiet printpay >/dev/null || true
  fi
  ;;
esac
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null || true
fi
if [ -S /run/udev/control ] && command -v udevadm >/dev/null; then
  udevadm control --reload-rules || true
fi
exit 0
