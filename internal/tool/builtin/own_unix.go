//go:build unix

package builtin

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ownTree gives the workspace (its .git folder excepted) to uid:gid when seance runs as root, so that
// a sandboxed process, which never runs as root, can write it; git itself is run with an explicit
// --git-dir and so does not mind the owner of the work tree. Symbolic links are changed themselves,
// never followed. As any other user it does nothing: the sandbox then maps that user's uid.
func ownTree(dir string, uid, gid int) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" && filepath.Dir(p) == dir {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid && int(st.Gid) == gid {
			return nil
		}
		return os.Lchown(p, uid, gid)
	})
}
