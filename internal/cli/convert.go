package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/seance-dev/seance/internal/engine/llama2c"
)

func init() {
	commands["convert"] = command{
		summary: "convert a llama2.c checkpoint to GGUF: convert llama2c MODEL.bin TOKENIZER.bin -o OUT.gguf",
		run:     runConvert,
	}
}

func runConvert(_ context.Context, e *env, args []string) error {
	fs := e.flagSet("convert", "llama2c CHECKPOINT.bin TOKENIZER.bin")
	out := fs.String("o", "", "output GGUF `file` (required)")
	name := fs.String("name", "", "model name stored in the file (default: the checkpoint's file name)")
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(args) != 3 || args[0] != "llama2c" || *out == "" {
		return fmt.Errorf("%w: expected 'convert llama2c CHECKPOINT.bin TOKENIZER.bin -o OUT.gguf' (flags before the arguments)", errUsage)
	}
	ckpt, err := os.ReadFile(args[1])
	if err != nil {
		return err
	}
	tok, err := os.ReadFile(args[2])
	if err != nil {
		return err
	}
	if *name == "" {
		*name = trimExt(filepath.Base(args[1]))
	}
	// Write beside the destination and rename, so a failed conversion never leaves a partial file.
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".convert-*.gguf")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	if err := llama2c.Convert(w, ckpt, tok, *name); err != nil {
		tmp.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return err
	}
	fmt.Fprintf(e.Err, "wrote %s\n", *out)
	return nil
}

func trimExt(s string) string { return s[:len(s)-len(filepath.Ext(s))] }
