#!/usr/bin/env bash
# install.sh: install ecsd, register this host with an SSM activation and
# start it, like ecs-anywhere-install.sh.
#
#   install.sh --region R --cluster C --activation-id ID --activation-code CODE \
#              --package ./ecsd_1.0.0_amd64.deb [--endpoint URL] [--no-start]
#
# Test hooks (not for operators): ECSD_INSTALL_SKIP_PACKAGES=1 skips every
# package manager step, ECSD_BIN is the ecsd to run, ECSD_CONFIG_DIR replaces
# /etc/ecs, ECSD_STATE_ROOT the SSM state root, SYSTEMCTL systemctl, and
# ECSD_INSTALL_SKIP_ROOT_CHECK=1 the root check.
set -euo pipefail

log() { printf 'ecsd-install: %s\n' "$*"; }
die() { printf 'ecsd-install: error: %s\n' "$*" >&2; exit 1; }

usage() {
	cat <<'USAGE'
usage: install.sh --region R --cluster C --activation-id ID --activation-code CODE
                  [--package FILE.deb|FILE.rpm] [--endpoint URL] [--no-start] [--help]
  --region           AWS region of the activation and the cluster
  --cluster          ECS cluster to join (default: default)
  --activation-id    SSM hybrid activation id
  --activation-code  SSM hybrid activation code (never printed)
  --package          local ecsd .deb or .rpm to install
  --endpoint         one URL for the ECS and SSM APIs (e.g. ecs-local)
  --no-start         install and register, but do not enable or start ecsd
USAGE
}

REGION="" CLUSTER="default" ACTIVATION_ID="" ACTIVATION_CODE="" PACKAGE="" ENDPOINT="" NO_START=0
need_value() { [ "$#" -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }
while [ "$#" -gt 0 ]; do
	case "$1" in
	--region) need_value "$@"; REGION="$2"; shift 2 ;;
	--cluster) need_value "$@"; CLUSTER="$2"; shift 2 ;;
	--activation-id) need_value "$@"; ACTIVATION_ID="$2"; shift 2 ;;
	--activation-code) need_value "$@"; ACTIVATION_CODE="$2"; shift 2 ;;
	--package) need_value "$@"; PACKAGE="$2"; shift 2 ;;
	--endpoint) need_value "$@"; ENDPOINT="$2"; shift 2 ;;
	--no-start) NO_START=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
done

[ -n "$REGION" ] || die "--region is required"
[ -n "$ACTIVATION_ID" ] || die "--activation-id is required"
[ -n "$ACTIVATION_CODE" ] || die "--activation-code is required"
[[ "$REGION" =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]] || die "--region: not a region name: $REGION"
[[ "$CLUSTER" =~ ^[A-Za-z0-9_-]{1,255}$ ]] || die "--cluster: letters, digits, - and _ only (1-255)"
[[ "$ACTIVATION_ID" =~ ^[A-Za-z0-9-]{1,64}$ ]] || die "--activation-id: not an activation id"
[[ "$ACTIVATION_CODE" =~ ^[A-Za-z0-9+/=]{1,250}$ ]] || die "--activation-code: unexpected characters"
if [ -n "$ENDPOINT" ]; then
	[[ "$ENDPOINT" =~ ^https?://[^[:space:]]+$ ]] || die "--endpoint: not an http(s) URL"
fi

SKIP_PACKAGES="${ECSD_INSTALL_SKIP_PACKAGES:-0}"
ECSD="${ECSD_BIN:-/usr/bin/ecsd}"
CONFIG_DIR="${ECSD_CONFIG_DIR:-/etc/ecs}"
STATE_ROOT="${ECSD_STATE_ROOT:-/var/lib/amazon/ssm}"
SYSTEMCTL="${SYSTEMCTL:-systemctl}"

if [ "${ECSD_INSTALL_SKIP_ROOT_CHECK:-0}" != 1 ] && [ "$(id -u)" != 0 ]; then
	die "run as root (sudo)"
fi

# Packages.
if [ "$SKIP_PACKAGES" != 1 ]; then
	if command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then
		PM=apt
	elif command -v dnf >/dev/null 2>&1; then
		PM=dnf
	elif command -v yum >/dev/null 2>&1; then
		PM=yum
	else
		die "unsupported distribution: need apt/dpkg (Debian, Ubuntu) or dnf/yum/rpm (RHEL, Fedora, Amazon Linux)"
	fi
	[ -n "$PACKAGE" ] || die "--package is required (a local ecsd .deb or .rpm)"
	[ -f "$PACKAGE" ] || die "--package: no such file: $PACKAGE"
	case "$PM:$PACKAGE" in
	apt:*.deb | dnf:*.rpm | yum:*.rpm) ;;
	*) die "--package: $PACKAGE does not suit this distribution ($PM)" ;;
	esac
	missing=()
	command -v containerd >/dev/null 2>&1 || missing+=(containerd)
	command -v runc >/dev/null 2>&1 || missing+=(runc)
	[ -x /usr/lib/cni/bridge ] || [ -x /opt/cni/bin/bridge ] || missing+=(containernetworking-plugins)
	command -v iptables >/dev/null 2>&1 || missing+=(iptables)
	if [ "${#missing[@]}" -gt 0 ]; then
		log "installing ${missing[*]}"
		if [ "$PM" = apt ]; then
			apt-get update -qq || die "apt-get update failed"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" || die "installing ${missing[*]} failed"
		else
			"$PM" install -y "${missing[@]}" || die "installing ${missing[*]} failed"
		fi
	fi
	log "installing $PACKAGE"
	pkgpath="$(cd "$(dirname "$PACKAGE")" && pwd)/$(basename "$PACKAGE")"
	if [ "$PM" = apt ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkgpath" || die "installing $PACKAGE failed"
	else
		"$PM" install -y "$pkgpath" || die "installing $PACKAGE failed"
	fi
fi
[ -x "$ECSD" ] || die "ecsd not found at $ECSD"

# Configuration: set our keys, keep every other line.
set_config() {
	local file="$1" key="$2" value="$3" tmp
	tmp="$(mktemp "$file.XXXXXX")"
	if [ -f "$file" ]; then
		grep -v -E "^[[:space:]]*${key}=" "$file" >"$tmp" || true
	fi
	printf '%s=%s\n' "$key" "$value" >>"$tmp"
	chmod 0644 "$tmp"
	mv -f "$tmp" "$file"
}
mkdir -p "$CONFIG_DIR"
CONFIG="$CONFIG_DIR/ecs.config"
set_config "$CONFIG" ECS_CLUSTER "$CLUSTER"
set_config "$CONFIG" AWS_DEFAULT_REGION "$REGION"
if [ -n "$ENDPOINT" ]; then
	set_config "$CONFIG" ECS_BACKEND_HOST "$ENDPOINT"
	set_config "$CONFIG" ECSD_SSM_ENDPOINT "$ENDPOINT"
fi
if [ -n "${ECSD_STATE_ROOT:-}" ]; then
	set_config "$CONFIG" ECSD_SSM_STATE_ROOT "$STATE_ROOT"
fi
log "wrote ECS_CLUSTER=$CLUSTER to $CONFIG"

# Registration, once.
if [ -s "$STATE_ROOT/Vault/Manifest" ] && grep -q RegistrationKey "$STATE_ROOT/Vault/Manifest"; then
	log "this host is already registered (state in $STATE_ROOT); not registering again"
else
	log "registering this host with activation $ACTIVATION_ID in $REGION"
	reg_args=(register --region "$REGION" --activation-id "$ACTIVATION_ID" --activation-code "$ACTIVATION_CODE"
		--cluster "$CLUSTER" --state-root "$STATE_ROOT")
	[ -z "$ENDPOINT" ] || reg_args+=(--endpoint "$ENDPOINT")
	set +e
	out="$("$ECSD" "${reg_args[@]}" 2>&1)"
	rc=$?
	set -e
	# ecsd never prints the code, but be sure.
	out="${out//"$ACTIVATION_CODE"/<activation code>}"
	[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/  /'
	[ "$rc" = 0 ] || die "registration failed (ecsd register exit $rc); check the activation id, code, region and expiry"
fi

if [ "$NO_START" = 1 ]; then
	log "installed and registered; start with: $SYSTEMCTL enable --now ecsd"
	exit 0
fi
log "starting ecsd"
"$SYSTEMCTL" enable --now ecsd.service || die "systemctl enable --now ecsd failed; see journalctl -u ecsd"
for _ in $(seq 1 60); do
	if "$SYSTEMCTL" is-active --quiet ecsd.service; then
		log "ecsd is running and registered to cluster $CLUSTER"
		exit 0
	fi
	sleep 1
done
die "ecsd did not become active within 60s; see journalctl -u ecsd"
