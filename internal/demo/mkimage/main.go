package main

import (
	"context"
	"fmt"
	"os"

	"github.com/ecsd-project/ecsd/internal/testenv"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mkimage DIR")
		os.Exit(2)
	}
	set, err := testenv.BuildImages(context.Background(), os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
	fmt.Println(set.Archive)
}
