// attack: Node spawns a detached child (its own session) with stdio ignored and unref()s it, then exits
// category: outlive
// effect: after Run returns no process with the attack's marker exists on the host, and the survivor's file never appears
// via: pid namespace
// control: yes
const { spawn } = require("child_process");
const e = process.env;
const c = spawn("/bin/sh", ["-c", 'sleep 2; echo alive > "$RT_WS/LATE-node"', e.RT_MARKER], { detached: true, stdio: "ignore" });
c.unref();
