#!/usr/bin/env bash
# Installs the Debian packages the project needs, only those missing.
#   scripts/system-packages.sh          gettext (translations), Noto CJK fonts and Pango (PDF report)
#   scripts/system-packages.sh --browser  the same plus Chromium for the browser tests (and
#                                         iproute2 for the multi-host test)
set -euo pipefail

packages=()
command -v msgfmt >/dev/null 2>&1 || packages+=(gettext)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || packages+=(fonts-noto-cjk)
ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || packages+=(libpango-1.0-0 libpangoft2-1.0-0)
if [[ "${1:-}" == "--browser" ]]; then
  [[ -x /usr/bin/chromium ]] || packages+=(chromium)
  # The multi-host test's network namespaces (ip netns) and private mounts (unshare, mount).
  command -v ip >/dev/null 2>&1 || packages+=(iproute2)
  command -v unshare >/dev/null 2>&1 || packages+=(util-linux)
fi
((${#packages[@]})) || exit 0

echo "Installing Debian packages: ${packages[*]}"
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
