// Package ssm gives an on-premises host its AWS identity through an SSM
// hybrid activation: Register makes the host a managed instance (mi-…), and
// Provider turns that registration into the instance role's rotating
// credentials, for the agent's SDK clients (aws.CredentialsProvider) and,
// when asked, for other workloads through the shared credentials file.
//
// The registration lives in the SSM agent's own layout, so a stock
// amazon-ssm-agent and the ECS Anywhere install script recognise it (all
// files 0600, directories 0700, each written whole and atomically):
//
//	<state root>/                         default /var/lib/amazon/ssm
//	├── Vault/
//	│   ├── Manifest                      {"RegistrationKey":"<abs path>","InstanceFingerprint":"<abs path>"}
//	│   └── Store/
//	│       ├── RegistrationKey           {"instanceID","region","instanceType","availabilityZone",
//	│       │                              "privateKey" (base64 PKCS#1),"publicKey","privateKeyType":"Rsa",
//	│       │                              "privateKeyCreatedDate"}
//	│       └── InstanceFingerprint       {"fingerprint" (UUID v4),"hardwareHash":{…},"similarityThreshold":40}
//	├── registration                      {"ManagedInstanceID","Region"}, written, never read
//	└── runtimeconfig/identity_config.json   when the credentials file is shared
//
// Sharing is off unless ProviderConfig.SharedCredentialsFile is set; the
// file is rewritten whole (temporary file, rename) with mode 0600 and only
// the credential keys of its profile change. RemoveSharedCredentials takes
// them out again when the host is deregistered.
//
// The calls (wire shapes in wire/ssm):
//
//	Register:  RegisterManagedInstance, unsigned; the activation code is the proof.
//	Provider:  RequestManagedInstanceRoleToken, RSA-signed (SigV4's canonical
//	           request, RSASSA-PSS instead of HMAC), refreshed halfway through
//	           the credentials' life; UpdateManagedInstancePublicKey when SSM
//	           sets UpdateKeyPair.
//
// Every wait goes through a Clock; the server's Date header corrects for a
// wrong local clock; kinds of failure are sentinel errors (ErrInvalidActivation,
// ErrFingerprintMismatch, …) whose messages say what to do.
package ssm
