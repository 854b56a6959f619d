// Command ecs-local serves a local Amazon ECS control plane (package
// controlplane) for development, demos and tests: the AWS CLI and SDKs, and
// ecsd, drive it with --endpoint-url. It keeps its state and the admin
// credentials it creates on first start in --data-dir.
//
//	ecs-local --listen 127.0.0.1:8080 --data-dir ~/.ecs-local [--region us-east-1] [--account-id 000000000000]
package main
