// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Command guest is the only program inside the images containerdenv builds:
// with "pause" it is a pod's sandbox, waiting for the signal that ends it;
// with "env" it is an app container that prints its environment, one
// variable a line, and exits, so a test reads what the runtime gave the
// process from the container's log.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: guest pause|env")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "pause":
		// PID 1 of the sandbox: SIGTERM ends it, as it ends the real pause.
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		<-stop
	case "env":
		for _, kv := range os.Environ() {
			fmt.Println(kv)
		}
	default:
		fmt.Fprintf(os.Stderr, "guest: unknown mode %q (want pause or env)\n", os.Args[1])
		os.Exit(2)
	}
}
