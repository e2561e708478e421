// Package cli is seance's command line: one file per subcommand, each a function from parsed flags
// to output. It builds an internal/app.App from the configuration and prints what the app returns.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"

	"github.com/seance-dev/seance/internal/app"
	"github.com/seance-dev/seance/internal/config"
)

// Stdio are the streams a command reads and writes.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
}

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

var commands = map[string]command{}

// env is what a running command has: its streams, the environment and the global flags.
type env struct {
	Stdio
	lookup config.Env
	flags  config.Flags
}

// errUsage marks an error caused by bad command-line usage (exit code 2).
var errUsage = errors.New("usage")

// Run runs the command line args and returns the process exit code: 0 on success, 1 on failure, 2
// on bad usage, 130 when interrupted.
func Run(ctx context.Context, args []string, stdio Stdio, lookup func(string) (string, bool)) int {
	e := &env{Stdio: stdio, lookup: config.Env(lookup)}
	global := flag.NewFlagSet("seance", flag.ContinueOnError)
	global.SetOutput(stdio.Err)
	global.StringVar(&e.flags.ConfigFile, "config", "", "config `file` (default $SEANCE_CONFIG or $SEANCE_HOME/config.yaml)")
	global.StringVar(&e.flags.Home, "home", "", "seance home `folder` (default $SEANCE_HOME or ~/.seance)")
	global.StringVar(&e.flags.LogLevel, "log-level", "", "log `level`: debug, info, warn, error")
	global.Usage = func() { usage(stdio.Err, global) }
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := global.Args()
	if len(rest) == 0 {
		usage(stdio.Err, global)
		return 2
	}
	name := rest[0]
	if name == "help" || name == "-h" || name == "--help" {
		usage(stdio.Out, global)
		return 0
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stdio.Err, "seance: unknown command %q; run 'seance help'\n", name)
		return 2
	}
	err := cmd.run(ctx, e, rest[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stdio.Err, "seance %s: %v\n", name, err)
		return 2
	case ctx.Err() != nil:
		fmt.Fprintf(stdio.Err, "seance %s: interrupted\n", name)
		return 130
	}
	fmt.Fprintf(stdio.Err, "seance %s: %v\n", name, err)
	return 1
}

func usage(w io.Writer, global *flag.FlagSet) {
	fmt.Fprintf(w, "seance — a council of small language models, kept under control.\n\nUsage: seance [global flags] COMMAND [flags] [args]\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nGlobal flags:\n")
	global.SetOutput(w)
	global.PrintDefaults()
	fmt.Fprintf(w, "\nRun 'seance COMMAND -h' for a command's flags.\n")
}

// flagSet returns a FlagSet for a subcommand that prints to the error stream.
func (e *env) flagSet(name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet("seance "+name, flag.ContinueOnError)
	fs.SetOutput(e.Err)
	fs.Usage = func() {
		fmt.Fprintf(e.Err, "Usage: seance %s [flags] %s\n\n%s\n\nFlags:\n", name, args, commands[name].summary)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses a subcommand's flags, which may stand before, between or after the positional
// arguments ("--" ends the flags), and returns the positional arguments. Flag errors are usage errors.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos, tail []string
	for i, a := range args {
		if a == "--" {
			args, tail = args[:i], args[i+1:]
			break
		}
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return append(pos, tail...), nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// config loads the configuration with the global flags and extra overrides.
func (e *env) config(over config.Flags) (*config.Config, error) {
	f := e.flags
	if over.Model != "" {
		f.Model = over.Model
	}
	if over.Addr != "" {
		f.Addr = over.Addr
	}
	if over.Threads != 0 {
		f.Threads = over.Threads
	}
	return config.Load(e.lookup, f)
}

// app loads the configuration and builds the App; the caller closes it.
func (e *env) app(over config.Flags) (*app.App, error) {
	cfg, err := e.config(over)
	if err != nil {
		return nil, err
	}
	return app.New(cfg, e.logger(cfg))
}

func (e *env) logger(cfg *config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(e.Err, opts))
	}
	return slog.New(slog.NewTextHandler(e.Err, opts))
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// isTerminal reports whether f is a character device (a terminal), to decide on progress output.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
