package acs

// Interface association protocols of ElasticNetworkInterface.
const (
	InterfaceAssociationDefault = "default"
	InterfaceAssociationTunnel  = "tunnel"
	InterfaceAssociationVeth    = "veth"
	InterfaceAssociationVLAN    = "vlan"
)

// AttachTaskNetworkInterfacesMessage attaches ENIs to a task (awsvpc; not
// used on external instances).
type AttachTaskNetworkInterfacesMessage struct {
	ContainerInstanceARN     string                    `json:"containerInstanceArn,omitempty"`
	ClusterARN               string                    `json:"clusterArn,omitempty"`
	TaskARN                  string                    `json:"taskArn,omitempty"`
	TaskClusterARN           string                    `json:"taskClusterArn,omitempty"`
	GeneratedAt              int64                     `json:"generatedAt,omitempty"`
	MessageID                string                    `json:"messageId,omitempty"`
	WaitTimeoutMs            int64                     `json:"waitTimeoutMs,omitempty"`
	ElasticNetworkInterfaces []ElasticNetworkInterface `json:"elasticNetworkInterfaces,omitempty"`
}

// AttachInstanceNetworkInterfacesMessage attaches ENIs to the instance (not
// used on external instances).
type AttachInstanceNetworkInterfacesMessage struct {
	ContainerInstanceARN     string                    `json:"containerInstanceArn,omitempty"`
	ClusterARN               string                    `json:"clusterArn,omitempty"`
	GeneratedAt              int64                     `json:"generatedAt,omitempty"`
	MessageID                string                    `json:"messageId,omitempty"`
	WaitTimeoutMs            int64                     `json:"waitTimeoutMs,omitempty"`
	ElasticNetworkInterfaces []ElasticNetworkInterface `json:"elasticNetworkInterfaces,omitempty"`
}

// ConfirmAttachmentMessage confirms a resource attachment (EBS and the like;
// not used on external instances).
type ConfirmAttachmentMessage struct {
	ContainerInstanceARN string      `json:"containerInstanceArn,omitempty"`
	ClusterARN           string      `json:"clusterArn,omitempty"`
	TaskARN              string      `json:"taskArn,omitempty"`
	TaskClusterARN       string      `json:"taskClusterArn,omitempty"`
	GeneratedAt          int64       `json:"generatedAt,omitempty"`
	MessageID            string      `json:"messageId,omitempty"`
	WaitTimeoutMs        int64       `json:"waitTimeoutMs,omitempty"`
	Attachment           *Attachment `json:"attachment,omitempty"`
}

// Attachment is a resource attached to a task.
type Attachment struct {
	AttachmentARN        string               `json:"attachmentArn,omitempty"`
	AttachmentType       string               `json:"attachmentType,omitempty"`
	AttachmentProperties []AttachmentProperty `json:"attachmentProperties,omitempty"`
}

// AttachmentProperty is one name/value property of an Attachment.
type AttachmentProperty struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
}

// ElasticNetworkInterface describes an ENI given to a task or instance.
type ElasticNetworkInterface struct {
	Name                         string                            `json:"name,omitempty"`
	MacAddress                   string                            `json:"macAddress,omitempty"`
	AttachmentARN                string                            `json:"attachmentArn,omitempty"`
	Ec2ID                        string                            `json:"ec2Id,omitempty"`
	Index                        *int64                            `json:"index,omitempty"`
	InterfaceAssociationProtocol string                            `json:"interfaceAssociationProtocol,omitempty"`
	InterfaceTunnelProperties    *NetworkInterfaceTunnelProperties `json:"interfaceTunnelProperties,omitempty"`
	InterfaceVethProperties      *NetworkInterfaceVethProperties   `json:"interfaceVethProperties,omitempty"`
	InterfaceVlanProperties      *NetworkInterfaceVlanProperties   `json:"interfaceVlanProperties,omitempty"`
	IPv4Addresses                []IPv4AddressAssignment           `json:"ipv4Addresses,omitempty"`
	IPv6Addresses                []IPv6AddressAssignment           `json:"ipv6Addresses,omitempty"`
	DomainName                   []string                          `json:"domainName,omitempty"`
	DomainNameServers            []string                          `json:"domainNameServers,omitempty"`
	PrivateDNSName               string                            `json:"privateDnsName,omitempty"`
	SubnetGatewayIPv4Address     string                            `json:"subnetGatewayIpv4Address,omitempty"`
	SubnetGatewayIPv6Address     string                            `json:"subnetGatewayIpv6Address,omitempty"`
}

// NetworkInterfaceTunnelProperties are the tunnel settings of an ENI.
type NetworkInterfaceTunnelProperties struct {
	TunnelID           string `json:"tunnelId,omitempty"`
	InterfaceIPAddress string `json:"interfaceIpAddress,omitempty"`
}

// NetworkInterfaceVethProperties are the veth settings of an ENI.
type NetworkInterfaceVethProperties struct {
	PeerInterface string `json:"peerInterface,omitempty"`
}

// NetworkInterfaceVlanProperties are the VLAN settings of an ENI.
type NetworkInterfaceVlanProperties struct {
	VlanID                   string `json:"vlanId,omitempty"`
	TrunkInterfaceMacAddress string `json:"trunkInterfaceMacAddress,omitempty"`
}

// IPv4AddressAssignment is one IPv4 address of an ENI.
type IPv4AddressAssignment struct {
	PrivateAddress string `json:"privateAddress,omitempty"`
	Primary        bool   `json:"primary,omitempty"`
}

// IPv6AddressAssignment is one IPv6 address of an ENI.
type IPv6AddressAssignment struct {
	Address string `json:"address,omitempty"`
	Primary bool   `json:"primary,omitempty"`
}
