// attack: Node walks /proc: every environ, cmdline, /proc/1/root/etc/shadow, /proc/<pid>/root paths to the host home secret, and saves what it reads
// category: secrets
// effect: no planted secret, /etc/shadow line or parent-environment value appears in the workspace or the output
// via: own pid namespace and /proc; /etc/shadow masked; empty environment
// control: yes
const fs = require("fs");
const out = [];
const pids = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).concat(["self", "1", process.env.RT_PARENT_PID]);
for (const p of pids) {
  for (const f of ["environ", "cmdline", "root/etc/shadow", "root" + process.env.RT_HOST_SECRET]) {
    try { out.push(p + "/" + f + ": " + fs.readFileSync("/proc/" + p + "/" + f)); } catch (e) { out.push(String(e.code)); }
  }
}
for (const f of ["/etc/shadow", process.env.RT_HOST_SECRET, process.env.RT_HIDDEN_SECRET]) {
  try { out.push(fs.readFileSync(f, "utf8")); } catch (e) { out.push(String(e.code)); }
}
fs.writeFileSync(process.env.RT_WS + "/proc-loot.txt", out.join("\n"));
console.log(JSON.stringify(process.env));
