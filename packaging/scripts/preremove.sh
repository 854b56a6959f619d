#!/bin/sh
# Stop and disable ecsd on removal (not on upgrade). /var/lib/ecs and the SSM
# registration are left alone, so reinstalling keeps the host's identity.
set -e
removing=no
case "${1:-}" in
remove|purge|0) removing=yes ;;
esac
if [ "$removing" = yes ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl disable --now ecsd.service >/dev/null 2>&1 || true
fi
exit 0
