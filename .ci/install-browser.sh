#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests when it is missing and we may (root + apt-get).
set -u
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests…"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && exit 0
fi
echo "The browser tests need Debian's 'chromium' package (apt-get install chromium)." >&2
if [ "${CI:-}" = "true" ]; then exit 1; fi
echo "Continuing: the browser tests will be skipped." >&2
