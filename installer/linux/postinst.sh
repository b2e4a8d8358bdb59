#!/bin/sh
# printpay postinst: the system user, the configuration (kept on upgrade),
# the CUPS raw queue "printpay" when CUPS is present, and the service when
# systemd runs. `printpay install` does the configuration and the queue, so
# a package install and a manual one end the same.
set -e
CONF=/etc/printpay/printpay.toml

if [ "$1" = configure ]; then
  if ! getent group printpay >/dev/null; then
    addgroup --system --quiet printpay
  fi
  if ! getent passwd printpay >/dev/null; then
    adduser --system --quiet --ingroup printpay --home /var/lib/printpay --no-create-home \
      --shell /usr/sbin/nologin --gecos "printpay receipt printer" printpay
  fi
  for g in lp dialout; do
    if getent group "$g" >/dev/null; then adduser --quiet printpay "$g" >/dev/null; fi
  done
  mkdir -p /etc/printpay /var/lib/printpay /var/log/printpay

  queue=""
  if [ -x /usr/sbin/lpadmin ]; then queue="--printer-queue"; fi
  if ! /usr/bin/printpay install --no-service $queue --config "$CONF"; then
    echo "printpay: the setup above did not finish; once the cause is fixed run:" >&2
    echo "  sudo printpay install --no-service $queue --config $CONF" >&2
  fi

  if [ -f "$CONF" ]; then
    chown root:printpay /etc/printpay "$CONF"
    chmod 0750 /etc/printpay
    chmod 0640 "$CONF"
  fi
  chown -R printpay:printpay /var/lib/printpay /var/log/printpay
  chmod 0750 /var/lib/printpay /var/log/printpay

  if [ -S /run/udev/control ] && command -v udevadm >/dev/null; then
    udevadm control --reload-rules || true
    udevadm trigger --subsystem-match=usb --action=add || true
  fi

  if command -v deb-systemd-helper >/dev/null; then
    deb-systemd-helper unmask printpay.service >/dev/null || true
    deb-systemd-helper enable printpay.service >/dev/null || true
  fi
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    if [ -n "$2" ]; then
      systemctl restart printpay.service
    else
      systemctl enable --now printpay.service
    fi
  fi
fi
exit 0
