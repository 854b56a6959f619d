// Package config is ecsd's configuration: one Config struct, loaded once by
// cmd/ecsd from defaults, the ecs.config files, the environment and a few
// flags, validated with every problem listed, then passed down by value.
//
// Layers, lowest first; the highest layer that names a variable wins:
//
//	defaults                 the table in settings.go
//	/var/lib/ecs/ecs.config  instance defaults (the ECS Anywhere install script writes here)
//	/etc/ecs/ecs.config      the operator's file; overrides the one above, as ecs-init does
//	--config FILE ...        extra files, in the order given
//	environment              Sources.Env (callers pass os.Environ(); nothing else here reads it)
//	flags                    --cluster, --data-dir, --log-level
//
// Within one file a later line wins. An empty value ("ECS_CLUSTER=") sets
// the variable back to its default, as it does for the stock agent.
//
// Every variable is one row of one table (settings.go): its name, flag,
// default, what it accepts and how it parses, prints and redacts. Load,
// Print, LogValue and Variables all read that table, so documentation and
// the effective-config printout cannot drift from the parser.
//
// Variables are the stock ECS agent's (ECS_*, AWS_DEFAULT_REGION, proxy)
// with the stock names, defaults and formats, plus ecsd's own (ECSD_*):
// control-plane endpoint overrides, containerd, listener addresses, the SSM
// state root and the CNI bridge, so that several ecsd can run side by side.
package config
