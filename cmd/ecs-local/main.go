package main

import (
	"fmt"
	"os"

	"github.com/ecsd-project/ecsd/internal/version"
)

func main() {
	fmt.Fprintf(os.Stderr, "ecs-local %s: the local control plane is not implemented yet\n", version.Version)
	os.Exit(1)
}
