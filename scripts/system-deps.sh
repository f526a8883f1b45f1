#!/usr/bin/env bash
# Installs the Debian packages the test suite drives, when they are missing: Chromium (the
# dashboard), poppler-utils (PDF pages), Prometheus (a peer), Alertmanager (a channel's
# receiver), VictoriaMetrics (the remote metrics engine), nginx (the shipped proxy
# configuration) and DejaVu fonts (rendered reports).
# As root it installs them with apt-get; otherwise it prints the exact command and fails, so
# that a test run never silently skips what it could not drive.
set -euo pipefail

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v victoria-metrics >/dev/null || need+=(victoria-metrics)
fc-list 2>/dev/null | grep -qi dejavu || need+=(fonts-dejavu-core)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing the Debian packages the tests need: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  exit 0
fi
{
  echo "The tests need Debian packages that are not installed: ${need[*]}"
  if command -v apt-get >/dev/null; then
    echo "Install them with:"
  else
    echo "This system has no apt-get; on Debian or Ubuntu they install with:"
  fi
  echo "  sudo apt-get update && sudo apt-get install -y ${need[*]}"
  echo "or skip this check with 'make test SYSTEM_DEPS=' (most tests that drive a missing"
  echo "package are then skipped; the PDF report test fails without poppler-utils)."
} >&2
exit 1
