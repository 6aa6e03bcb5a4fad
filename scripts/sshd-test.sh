#!/bin/sh
# One-time machine setup for the real-sshd tests and bench (idempotent, needs root): installs
# openssh-server and sudo when missing, creates the `runbook-test` login user with sudo NOPASSWD.
set -eu
USER_NAME="${RUNBOOK_SSH_TEST_USER:-runbook-test}"

if [ "$(id -u)" != 0 ]; then
  echo "sshd-test.sh: must run as root (installs openssh-server, creates user $USER_NAME)" >&2
  exit 1
fi

missing=""
[ -x /usr/sbin/sshd ] || missing="$missing openssh-server"
command -v sudo >/dev/null 2>&1 || missing="$missing sudo"
command -v ssh-keygen >/dev/null 2>&1 || missing="$missing openssh-client"
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi


if ! id "$USER_NAME" >/dev/null 2>&1; then
  useradd -m -s /bin/bash "$USER_NAME"
fi
# sshd refuses accounts that are locked ("!" in shadow) even for key logins; "*" means no password but usable.
usermod -p '*' "$USER_NAME" 2>/dev/null || true

SUDOERS="/etc/sudoers.d/$USER_NAME"
LINE="$USER_NAME ALL=(ALL) NOPASSWD: ALL"
if [ ! -f "$SUDOERS" ] || [ "$(cat "$SUDOERS")" != "$LINE" ]; then
  printf '%s\n' "$LINE" > "$SUDOERS.tmp"
  chmod 0440 "$SUDOERS.tmp"
  mv "$SUDOERS.tmp" "$SUDOERS"
fi

mkdir -p /run/sshd
chmod 0755 /run/sshd
echo "sshd-test.sh: ready (user $USER_NAME, $(/usr/sbin/sshd -V 2>&1 | head -1))"
