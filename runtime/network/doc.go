// Package network gives ecsd's containers their network: a network namespace
// per container and, in bridge mode, a veth on ecsd's own Linux bridge with
// host port mappings, all through CNI (github.com/containerd/go-cni and the
// distribution's plugins: bridge, host-local, portmap, firewall).
// It never touches containers; runtime joins the namespace at
// Attachment.NetNSPath.
//
//	bridge  namespace + lo up + eth0 (veth on Config.BridgeName, an IPv4 from
//	        Config.Subnet, default route and masquerade through the bridge) +
//	        DNAT from host ports (portmap, also for 127.0.0.1)
//	none    namespace with only lo, up
//	host    nothing: the container shares the host's namespace
//
// Everything that must outlive the agent is under Config.StateDir:
//
//	StateDir/
//	  <bridge>.conflist      the CNI config ecsd writes (rewritten by New)
//	  attachments/<id>.json  one record per attachment: mode, namespace,
//	                         host ports; written before anything is created,
//	                         removed after everything is gone
//	  ipam/<bridge>/         host-local's address leases
//	  netns/<id>             bind-mounted namespaces (Config.NetNSDir)
//
// Outside it: libcni keeps the result of each ADD in
// /var/lib/cni/results/<bridge>-<id>-eth0 (go-cni does not let us move it),
// which DEL reads and removes; the bridge itself stays between runs; the
// bridge plugin turns on net.ipv4.ip_forward; the plugins' shared iptables
// chains (CNI-HOSTPORT-*, CNI-FORWARD, CNI-ADMIN) stay once made.
//
// Setup claims host ports, writes the record, creates the namespace and runs
// CNI ADD; on any failure it undoes what it did. Teardown runs CNI DEL with
// the recorded port mappings while the namespace still exists (the bridge
// plugin finds the container's address, and so its masquerade rule,
// through it), then removes the namespace, the record and the port claims.
// After an agent crash, New reloads the records, so ports held by surviving
// containers stay claimed, and Cleanup tears down every attachment the
// caller does not keep, and any address lease whose record was lost.
//
// Host ports: a static hostPort, or a dynamic one picked from
// Config.DynamicPortRange, must not be reserved, not be claimed by another
// attachment of this Manager and be free on the host (we bind it to check);
// otherwise Setup fails with ErrPortUnavailable.
//
// The host's FORWARD chain must let new connections to the subnet through
// for traffic arriving from outside the host: the firewall plugin accepts
// traffic from containers and replies to them, but not new inbound flows
// when the FORWARD policy is DROP (as on a host that also runs Docker).
package network
