// attack: Go os.RemoveAll, os.Remove, os.Rename, os.WriteFile, os.Chtimes, os.Truncate and os.Chmod on the victim, outside and hidden trees
// category: files
// effect: outside/ and hidden/ trees unchanged
// via: read-only mount view; hidden folder not mounted
// control: yes
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	v, o, h := os.Getenv("RT_VICTIM"), os.Getenv("RT_OUTSIDE"), os.Getenv("RT_HIDDEN")
	for _, err := range []error{
		os.RemoveAll(o + "/tree"),
		os.RemoveAll(h),
		os.Remove(v),
		os.Rename(v, o+"/moved"),
		os.WriteFile(v, []byte("pwned"), 0o666),
		os.Chtimes(v, time.Unix(0, 0), time.Unix(0, 0)),
		os.Truncate(v, 0),
		os.Chmod(v, 0o777),
		os.Lchown(v, 0, 0),
		os.Mkdir(o+"/"+os.Getenv("RT_MARKER"), 0o755),
		os.RemoveAll(o),
	} {
		fmt.Println(err)
	}
}
