# attack: Python balloons memory in 16 MiB chunks up to 1 GiB, touching every page
# category: exhaustion
# effect: Run returns with the process killed by the memory limit
# via: cgroup memory limit
# stop: memory
# limits: memory=64MiB wall=20s
chunks = []
for i in range(64):
    chunks.append(bytearray(b"\x01") * (16 << 20))
print("allocated", len(chunks) * 16, "MiB")
