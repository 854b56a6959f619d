// Package packaging holds ecsd's install artifacts and their tests: the
// systemd unit (systemd/), the deb and rpm builder (mkpkg/), the package
// scripts (scripts/) and the install script that registers a host with an
// activation code (install.sh).
package packaging
