// attack: Node keeps allocating and filling 16 MiB Buffers (outside the V8 heap, so V8's own heap limit does not stop it)
// category: exhaustion
// effect: Run returns with the process killed by the memory limit
// via: cgroup memory limit
// stop: memory
// limits: memory=128MiB wall=20s
const keep = [];
for (let i = 0; i < 256; i++) keep.push(Buffer.alloc(16 << 20, 1));
console.log("allocated", keep.length * 16, "MiB");
