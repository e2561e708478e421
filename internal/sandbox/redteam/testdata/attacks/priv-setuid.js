// attack: Node process.setuid(0)/setgid(0)/setgroups([0]), then spawns the setuid-root helper and a shell with uid 0 requested
// category: privilege
// effect: no file created as root in the workspace; victim unchanged
// via: uid 65534 without capabilities; nosuid; no_new_privs
// control: yes
const { spawnSync } = require("child_process");
const fs = require("fs");
process.chdir(process.env.RT_WS);
for (const f of [() => process.setgroups([0]), () => process.setgid(0), () => process.setuid(0)]) {
  try { f(); console.log("ok"); } catch (e) { console.log("refused", e.code); }
}
try { fs.writeFileSync("node-setuid-file", "uid " + process.getuid()); } catch (e) {}
console.log(spawnSync(process.env.RT_SUID, { encoding: "utf8" }).stdout);
const r = spawnSync("/bin/sh", ["-c", "touch node-uid0-file; echo pwned > \"$RT_VICTIM\""], { uid: 0, gid: 0 });
console.log("spawn uid 0:", r.error ? r.error.code : r.status);
