// attack: Node connects over TCP (127.0.0.1 and ::1), to the Unix socket by path and the abstract socket, and sends UDP with dgram
// category: network
// effect: none of the test's listeners (TCP, UDP, Unix path, abstract) records anything
// via: empty network namespace; Landlock denies TCP connect; seccomp refuses UDP and Unix sockets
// control: yes
const net = require("net");
const dgram = require("dgram");
const e = process.env;
const targets = [{ host: "127.0.0.1", port: +e.RT_TCP }, { path: e.RT_UNIX }, { path: "\0" + e.RT_ABSTRACT }];
if (+e.RT_TCP6) targets.push({ host: "::1", port: +e.RT_TCP6 });
for (const t of targets) {
  try {
    const c = net.connect(t, () => { c.end("escaped-node\n"); console.log("connected", t); });
    c.on("error", (err) => console.log("refused", t, err.code));
  } catch (err) { console.log("refused", t, err.code); }
}
try {
  const s = dgram.createSocket("udp4");
  s.on("error", (err) => console.log("udp refused", err.code));
  s.send("escaped-udp", +e.RT_UDP, "127.0.0.1", (err) => { console.log("udp", err ? err.code : "sent"); s.close(); });
} catch (err) { console.log("udp refused", err.code); }
setTimeout(() => {}, 1500);
