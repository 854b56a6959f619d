// Package ssmserver is ecs-local's SSM side: the hybrid-activation calls of
// AWS Systems Manager, served as an http.Handler in AWS JSON 1.1
// (X-Amz-Target: AmazonSSM.<Operation>), so that ecsd, a stock
// amazon-ssm-agent and the AWS CLI can register hosts and get the managed
// instance role's credentials from it.
//
// Three ways a call is authenticated:
//
//	SigV4 (Config.Verify, service ssm)   CreateActivation, DescribeActivations, DeleteActivation,
//	                                     DescribeInstanceInformation, DeregisterManagedInstance
//	none (the activation code is proof) RegisterManagedInstance
//	RSA-PSS over SigV4's string to sign  RequestManagedInstanceRoleToken,
//	with the instance's registered key   UpdateManagedInstancePublicKey
//
// A managed instance's principal (the one its role credentials carry, and the
// one Config.Issue is asked for) is
// arn:aws:sts::<account>:assumed-role/<role name>/<mi-…>. Such a principal may
// only deregister its own instance; every other SigV4 call is for admins.
//
// State lives in one bbolt file, <DataDir>/ssm.db, mode 0600 in a directory
// created 0700; every change is written before it is answered.
//
//	ssm.db, schema version 1
//	├── meta
//	│   └── "schema-version"  → "1"
//	├── activations
//	│   └── <activation id>   → JSON activation (the code only as its SHA-256)
//	├── instances
//	│   └── <mi-…>            → JSON instance (current public key, fingerprint,
//	│                           role, registration and last ping times)
//	└── public-keys           every registered key, so none is held twice
//	    └── <hex SHA-256 of the PKIX DER> → <mi-…>
//
// Activations outlive their instances: deleting one does not deregister
// what registered with it, and deregistering an instance does not give its
// registration back to the activation, as in SSM.
package ssmserver
