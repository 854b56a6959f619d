// Command ecsd turns a Linux host into an Amazon ECS external container
// instance, running tasks on containerd. It is the composition root: it
// parses flags, loads configuration, builds every part and runs the agent.
//
//	ecsd version
//	ecsd register --region R --activation-id ID --activation-code CODE
package main
