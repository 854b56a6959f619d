// Package register makes this host an ECS container instance: it builds the
// external instance's resources and attributes, calls
// RegisterContainerInstance (re-registering with the persisted ARN), checks
// that ECS echoed every attribute, and finds the ACS and telemetry
// endpoints with DiscoverPollEndpoint.
package register
