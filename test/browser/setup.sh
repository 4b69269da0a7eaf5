#!/usr/bin/env bash
# Headless Chromium for the report tests (test/e2e/report.test.ts) and `npm run bench -- report`:
# Debian's `chromium` plus a font, driven by puppeteer-core with executablePath /usr/bin/chromium
# (puppeteer's own browser download is never used). Idempotent; run as root.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# A font with Latin glyphs, so text in screenshots is drawn (Chromium has none of its own).
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "test/browser/setup.sh: need root to install ${need[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
  }
fi
chromium --version
