#!/bin/sh
# One-time machine setup for the real-sshd tests and bench (idempotent, needs root): installs
# openssh-server and sudo when missing, creates the `runbook-test` login user with sudo NOPASSWD
# (and `runbook-test-pw`, reachable through sudo only with its password).
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

# A second, non-login account that sudo only reaches with its password (targetpw): the tests of
# `become_password` need a sudo that really asks. Test-only password; the account has no login shell.
PW_USER="${USER_NAME}-pw"
PW_PASSWORD="runbook-pw-test-only"
if ! id "$PW_USER" >/dev/null 2>&1; then
  useradd -M -s /usr/sbin/nologin "$PW_USER"
fi
echo "$PW_USER:$PW_PASSWORD" | chpasswd

SUDOERS="/etc/sudoers.d/$USER_NAME"
WANT="$USER_NAME ALL=(ALL) NOPASSWD: ALL
Defaults>$PW_USER targetpw, !lecture, passwd_tries=1
$USER_NAME ALL=($PW_USER) PASSWD: ALL"
if [ ! -f "$SUDOERS" ] || [ "$(cat "$SUDOERS")" != "$WANT" ]; then
  printf '%s\n' "$WANT" > "$SUDOERS.tmp"
  chmod 0440 "$SUDOERS.tmp"
  visudo -cqf "$SUDOERS.tmp"
  mv "$SUDOERS.tmp" "$SUDOERS"
fi

mkdir -p /run/sshd
chmod 0755 /run/sshd
echo "sshd-test.sh: ready (user $USER_NAME, $(/usr/sbin/sshd -V 2>&1 | head -1))"
