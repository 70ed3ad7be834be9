// Package vm deploys a bundle to a Linux VM over SSH: it uploads the static
// weir binary and the bundle with SFTP into an install folder, runs
// `weir serve` under a systemd unit (or, without systemd, under a small sh
// supervisor started detached, with a pid file), and checks /readyz
// through the SSH connection itself. The VM's host key is checked against
// known_hosts.
//
// CloudInit writes cloud-init user-data that installs the same on a new
// VM at first boot, downloading the binary and the bundle and checking
// their SHA-256.
package vm
