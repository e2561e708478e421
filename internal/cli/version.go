package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version and Commit are set at build time with
// -ldflags "-X github.com/seance-dev/seance/internal/cli.Version=v0.1.0 -X ...cli.Commit=<sha>";
// without them, the module's build information is used.
var (
	Version = ""
	Commit  = ""
)

func init() {
	commands["version"] = command{summary: "print the version and commit", run: runVersion}
}

// versionInfo is what `seance version` reports.
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

func buildVersion() versionInfo {
	v := versionInfo{Version: Version, Commit: Commit, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if v.Commit == "" {
					v.Commit = s.Value
				}
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

func runVersion(_ context.Context, e *env, args []string) error {
	fs := e.flagSet("version", "")
	asJSON := fs.Bool("json", false, "print JSON")
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	v := buildVersion()
	if *asJSON {
		return printJSON(e.Out, v)
	}
	mod := ""
	if v.Modified {
		mod = " (modified)"
	}
	_, err = fmt.Fprintf(e.Out, "seance %s commit %s%s %s %s\n", v.Version, v.Commit, mod, v.GoVersion, v.Platform)
	return err
}
