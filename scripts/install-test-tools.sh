#!/usr/bin/env bash
# What the tests need beyond npm packages, from Debian's packages, installed when missing:
# redis-server (each test file starts its own throwaway server), redis-cli (redis-tools: the
# cluster harness joins its nodes with `redis-cli --cluster create`), openssl (the TLS tests make a
# throwaway CA and certificates with it) and chromium (the admin UI's browser tests drive it
# through playwright-core, which downloads no browser). Run by `npm test` (pretest) and by
# .ci/run; does nothing when all are there.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo)
else
  echo "The tests need ${missing[*]} (Debian packages). Install them with:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing ${missing[*]} from Debian's packages (the tests need them)"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
