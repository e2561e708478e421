// attack: Node fs.rmSync (recursive), unlinkSync, renameSync, writeFileSync, truncateSync, utimesSync, chmodSync and cpSync against the victim and outside tree
// category: files
// effect: outside/ and hidden/ trees unchanged
// via: read-only mount view; hidden folder not mounted
// control: yes
const fs = require("fs");
const { RT_VICTIM: v, RT_OUTSIDE: o, RT_HIDDEN: h, RT_MARKER: m } = process.env;
const tries = [
  () => fs.rmSync(o + "/tree", { recursive: true, force: true }),
  () => fs.rmSync(h, { recursive: true, force: true }),
  () => fs.unlinkSync(v),
  () => fs.renameSync(v, o + "/moved"),
  () => fs.writeFileSync(v, "pwned"),
  () => fs.appendFileSync(v, "pwned"),
  () => fs.truncateSync(v, 0),
  () => fs.utimesSync(v, 0, 0),
  () => fs.chmodSync(v, 0o777),
  () => fs.cpSync("/etc/hostname", o + "/" + m + "-copy"),
  () => fs.mkdirSync(o + "/" + m + "-dir"),
  () => fs.rmdirSync(o + "/empty-dir"),
  () => fs.promises.rm(o, { recursive: true }).catch(() => {}),
];
for (const t of tries) {
  try { t(); console.log("ok", t.toString()); } catch (e) { console.log("refused", e.code); }
}
