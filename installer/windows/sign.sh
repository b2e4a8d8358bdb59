#!/usr/bin/env bash
# Signs a Windows executable or MSI in place with osslsigncode (Authenticode,
# SHA-256). The certificate and key come from PRINTPAY_SIGN_CERT and
# PRINTPAY_SIGN_KEY (PEM files); makensis calls this for the setup and its
# uninstaller (!finalize, !uninstfinalize).
set -euo pipefail
f="$1"
: "${PRINTPAY_SIGN_CERT:?PRINTPAY_SIGN_CERT: the code-signing certificate (PEM)}"
: "${PRINTPAY_SIGN_KEY:?PRINTPAY_SIGN_KEY: its private key (PEM)}"
osslsigncode sign -certs "$PRINTPAY_SIGN_CERT" -key "$PRINTPAY_SIGN_KEY" -h sha256 \
  -n "printpay" -i "https://printpay.dev/" -in "$f" -out "$f.signed" >/dev/null
mv -f "$f.signed" "$f"
