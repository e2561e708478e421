package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/seance-dev/seance/internal/config"
)

func init() {
	commands["models"] = command{summary: "list models: aliases, GGUF files, Ollama's store, the Hugging Face cache, backends", run: runModels}
}

func runModels(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet("models", "")
	asJSON := fs.Bool("json", false, "print JSON")
	local := fs.Bool("local", false, "do not ask configured remote backends")
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	a, err := e.app(config.Flags{})
	if err != nil {
		return err
	}
	defer a.Close()
	infos, err := a.Models(ctx, !*local)
	if err != nil {
		return err
	}
	if *asJSON {
		type row struct {
			ID            string `json:"id"`
			URL           string `json:"url"`
			Backend       string `json:"backend,omitempty"`
			Architecture  string `json:"architecture,omitempty"`
			Parameters    int64  `json:"parameters,omitempty"`
			ContextLength int    `json:"context_length,omitempty"`
			Quantization  string `json:"quantization,omitempty"`
			Size          int64  `json:"size,omitempty"`
			Source        string `json:"source"`
		}
		rows := make([]row, 0, len(infos))
		for _, in := range infos {
			rows = append(rows, row{in.ID, in.URL, in.Backend, in.Architecture, in.Parameters, in.ContextLength,
				in.Quantization, in.Size, in.Source})
		}
		return printJSON(e.Out, rows)
	}
	if len(infos) == 0 {
		fmt.Fprintln(e.Out, "no models found; run scripts/setup.sh or add GGUF files to", a.Config().ModelDirs)
		return nil
	}
	tw := tabwriter.NewWriter(e.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tARCH\tPARAMS\tQUANT\tCONTEXT\tSIZE\tSOURCE")
	for _, in := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", in.ID, dash(in.Architecture), human(in.Parameters, ""),
			dash(in.Quantization), human(int64(in.ContextLength), ""), human(in.Size, "B"), in.Source)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// human prints n with a k/M/G suffix ("-" for 0).
func human(n int64, unit string) string {
	switch {
	case n <= 0:
		return "-"
	case n >= 1e9:
		return fmt.Sprintf("%.1fG%s", float64(n)/1e9, unit)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM%s", float64(n)/1e6, unit)
	case n >= 1e4:
		return fmt.Sprintf("%.1fk%s", float64(n)/1e3, unit)
	}
	return fmt.Sprintf("%d%s", n, unit)
}
