#!/bin/sh
# printpay prerm: stop the service (also before an upgrade, so the new
# postinst finds the raw port free); on removal take the CUPS queue away.
set -e
if [ -d /run/systemd/system ]; then
  systemctl stop printpay.service >/dev/null 2>&1 || true
fi
if [ "$1" = remove ]; then
  if [ -d /run/systemd/system ]; then
    systemctl disable printpay.service >/dev/null 2>&1 || true
  fi
  /usr/bin/printpay uninstall --no-service --config /etc/printpay/printpay.toml || true
fi
exit 0
