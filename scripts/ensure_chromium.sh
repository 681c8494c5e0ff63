#!/usr/bin/env bash
# The report's browser test drives the system Chromium through Playwright (Playwright's own
# browser download is not used). Install Debian's chromium package when it is missing and apt-get
# can run; otherwise say so, and the browser test skips with that reason.
set -u
for name in chromium chromium-browser; do
  if command -v "$name" >/dev/null 2>&1; then exit 0; fi
done
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing Chromium for the browser test (apt-get install chromium)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "could not install chromium; the browser test will be skipped"
else
  echo "chromium is not installed and apt-get is not usable here; the browser test will be skipped"
fi
exit 0
