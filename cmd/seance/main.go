// Command seance summons a council of small language models and keeps it under control.
// See README.md; everything happens in internal/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/seance-dev/seance/internal/cli"
	"github.com/seance-dev/seance/internal/sandbox"
)

func main() {
	// A sandboxed child is this binary re-executed: it sets itself up and execs its target, never
	// returning here.
	sandbox.MaybeChild()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.LookupEnv)
	stop()
	os.Exit(code)
}
