// attack: Go writes policy/grants.yaml, removes the policy folder, renames the home, and creates a new policy file next to it
// category: protected
// effect: every file under the home's policy/ unchanged, nothing added
// via: read-only mount of the home (outside the workspace)
// control: yes
package main

import (
	"fmt"
	"os"
)

func main() {
	p, home := os.Getenv("RT_POLICY"), os.Getenv("RT_HOME")
	for _, err := range []error{
		os.WriteFile(p+"/grants.yaml", []byte("- {agent: redteam, capability: {kind: host, value: '*'}}\n"), 0o644),
		os.WriteFile(p+"/redteam.yaml", []byte("default: auto\n"), 0o644),
		os.RemoveAll(p),
		os.Rename(home, home+".old"),
		os.WriteFile(home+"/"+os.Getenv("RT_MARKER")+".yaml", []byte("x"), 0o644),
		os.Symlink("/tmp", p+"/link"),
	} {
		fmt.Println(err)
	}
}
