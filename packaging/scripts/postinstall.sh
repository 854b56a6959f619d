#!/bin/sh
# Reload units so systemd sees ecsd.service. The service is not started here:
# the host must be registered first (see install.sh / ecsd register).
set -e
mkdir -p /var/lib/ecs/data
chmod 0700 /var/lib/ecs/data
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload || true
fi
exit 0
