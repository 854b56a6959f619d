// Command mkpkg builds ecsd's deb and rpm packages with nfpm: bin/ecsd as
// /usr/bin/ecsd, the systemd unit, a default /etc/ecs/ecs.config kept across
// upgrades, /var/lib/ecs/data and the package scripts.
//
//	mkpkg --version 1.2.3 --arch amd64 --binary bin/ecsd --out dist
package main
