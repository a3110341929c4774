# Sourced by the test and bench scripts: installs Debian packages they need.
#
#   apt_install PACKAGE...
#
# Needs root and apt-get; says what to install otherwise. Packages that ship a
# service (redis-server, postgresql, nats-server) are kept from starting it
# system-wide: the only servers running are the ones the scripts start and stop.
apt_install() {
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "missing $*; install them (Debian: apt-get install $*) or run as root" >&2
    return 1
  fi
  echo "installing $*" >&2
  local policy=/usr/sbin/policy-rc.d own_policy="" status=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || status=$?
  [ -n "$own_policy" ] && rm -f "$policy"
  return "$status"
}
