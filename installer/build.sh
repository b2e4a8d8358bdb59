#!/usr/bin/env bash
# Builds the release artefacts into OUT (default dist/):
#   OUT/printpay, OUT/printpay.exe (signed), OUT/printpay-setup.exe (NSIS,
#   signed, with a signed uninstaller), OUT/printpay.msi (wixl, signed),
#   OUT/printpay_<version>_amd64.deb.
# Usage: installer/build.sh [OUT]
# Environment:
#   VERSION       the version (default: main.version in agent/cmd/printpay/main.go)
#   RELEASE_CERT  code-signing certificate (PEM) and RELEASE_KEY its key;
#   RELEASE_KEY   without them a throw-away test certificate is made in OUT/test-cert/
# As root it installs the tools it lacks (nsis, wixl, msitools, osslsigncode,
# openssl; nfpm with go install); otherwise it prints the exact commands and
# stops.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-dist}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
GO="${GO:-go}"
NFPM_VERSION=v2.45.2
GOBIN_DIR="$($GO env GOPATH | cut -d: -f1)/bin"

VERSION="${VERSION:-$(sed -n 's/^var version = "\(.*\)"$/\1/p' agent/cmd/printpay/main.go)}"
# Windows wants four numbers (1.2.3-dev -> 1.2.3.0).
VIVERSION="$(echo "$VERSION" | sed -E 's/^([0-9]+(\.[0-9]+)*).*/\1/')"
while [ "$(echo "$VIVERSION" | tr -cd . | wc -c)" -lt 3 ]; do VIVERSION="$VIVERSION.0"; done

# --- tools ----------------------------------------------------------------
apt_missing=()
command -v makensis >/dev/null || apt_missing+=(nsis)
command -v osslsigncode >/dev/null || apt_missing+=(osslsigncode)
command -v wixl >/dev/null || apt_missing+=(wixl)
command -v msibuild >/dev/null || apt_missing+=(msitools)
command -v openssl >/dev/null || apt_missing+=(openssl)
NFPM="$(command -v nfpm || true)"
[ -z "$NFPM" ] && [ -x "$GOBIN_DIR/nfpm" ] && NFPM="$GOBIN_DIR/nfpm"
if [ ${#apt_missing[@]} -gt 0 ] || [ -z "$NFPM" ]; then
  apt_cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${apt_missing[*]}"
  nfpm_cmd="$GO install github.com/goreleaser/nfpm/v2/cmd/nfpm@$NFPM_VERSION"
  if [ "$(id -u)" != 0 ]; then
    echo "dist: missing tools; run as root:" >&2
    [ ${#apt_missing[@]} -gt 0 ] && echo "  $apt_cmd" >&2
    [ -z "$NFPM" ] && echo "  $nfpm_cmd" >&2
    exit 1
  fi
  if [ ${#apt_missing[@]} -gt 0 ]; then
    echo "dist: installing ${apt_missing[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_missing[@]}") >/dev/null
  fi
  if [ -z "$NFPM" ]; then
    echo "dist: $nfpm_cmd"
    (cd / && $nfpm_cmd)
    NFPM="$GOBIN_DIR/nfpm"
  fi
fi

# --- binaries -------------------------------------------------------------
LDFLAGS="-s -w -X main.version=$VERSION"
CGO_ENABLED=0 $GO build -trimpath -ldflags "$LDFLAGS" -o "$OUT/printpay" ./agent/cmd/printpay
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $GO build -trimpath -ldflags "$LDFLAGS" -o "$OUT/printpay.exe" ./agent/cmd/printpay

# --- signing --------------------------------------------------------------
if [ -n "${RELEASE_CERT:-}" ] || [ -n "${RELEASE_KEY:-}" ]; then
  : "${RELEASE_CERT:?RELEASE_KEY is set but RELEASE_CERT is not}"
  : "${RELEASE_KEY:?RELEASE_CERT is set but RELEASE_KEY is not}"
  export PRINTPAY_SIGN_CERT="$RELEASE_CERT" PRINTPAY_SIGN_KEY="$RELEASE_KEY"
  VERIFY=(osslsigncode verify)
else
  cd_="$OUT/test-cert"
  mkdir -p "$cd_"
  if [ ! -s "$cd_/cert.pem" ]; then
    echo "dist: no RELEASE_CERT/RELEASE_KEY: signing with a throw-away test certificate ($cd_)"
    openssl req -x509 -newkey rsa:3072 -sha256 -keyout "$cd_/key.pem" -out "$cd_/cert.pem" -days 30 -nodes \
      -subj "/CN=printpay Test Code Signing" -addext "extendedKeyUsage=codeSigning" 2>/dev/null
  fi
  export PRINTPAY_SIGN_CERT="$cd_/cert.pem" PRINTPAY_SIGN_KEY="$cd_/key.pem"
  VERIFY=(osslsigncode verify -CAfile "$cd_/cert.pem")
fi
installer/windows/sign.sh "$OUT/printpay.exe"

# --- Windows setup ----------------------------------------------------------
makensis -V2 -DVERSION="$VERSION" -DVIVERSION="$VIVERSION" -DEXE="$OUT/printpay.exe" \
  -DOUTFILE="$OUT/printpay-setup.exe" -DSIGN="$PWD/installer/windows/sign.sh" installer/windows/printpay.nsi
# --- Windows MSI ------------------------------------------------------------
# MSI versions are three numbers (the fourth is ignored by upgrades).
MSIVERSION="$(echo "$VIVERSION" | cut -d. -f1-3)"
mstage="$OUT/.msi-build"
rm -rf "$mstage" && mkdir -p "$mstage"
cp "$OUT/printpay.exe" installer/windows/printpay.wxs "$mstage/"
if ! (cd "$mstage" && wixl -a x64 -D Version="$MSIVERSION" -D Exe=printpay.exe -o printpay.msi printpay.wxs >wixl.log 2>&1); then
  cat "$mstage/wixl.log" >&2
  echo "dist: wixl failed" >&2
  exit 1
fi
installer/windows/msi-fixup.sh "$mstage/printpay.msi"
mv "$mstage/printpay.msi" "$OUT/printpay.msi"
rm -rf "$mstage"
installer/windows/sign.sh "$OUT/printpay.msi"

for f in printpay.exe printpay-setup.exe printpay.msi; do
  if ! "${VERIFY[@]}" -in "$OUT/$f" >"$OUT/.verify.log" 2>&1; then
    cat "$OUT/.verify.log" >&2
    echo "dist: osslsigncode verify $f failed" >&2
    exit 1
  fi
done
rm -f "$OUT/.verify.log"

# --- Debian package ---------------------------------------------------------
rm -f "$OUT"/printpay_*_amd64.deb
stage="$OUT/.deb-build"
rm -rf "$stage" && mkdir -p "$stage"
cp installer/linux/* "$stage/" && cp "$OUT/printpay" "$stage/printpay"
if ! (cd "$stage" && VERSION="$VERSION" "$NFPM" package -p deb -f nfpm.yaml -t "$OUT/" >"$stage/nfpm.log" 2>&1); then
  cat "$stage/nfpm.log" >&2
  echo "dist: nfpm failed" >&2
  exit 1
fi
rm -rf "$stage"
deb="$OUT/printpay_${VERSION}_amd64.deb"
[ -s "$deb" ] || { echo "dist: $deb was not built" >&2; ls "$OUT" >&2; exit 1; }
echo "dist: $OUT/printpay-setup.exe and $OUT/printpay.msi (signed, verified), $deb"
