# attack: fill the disk through the workspace: cat /dev/zero into one file until the write fails
# category: exhaustion
# effect: the file stops growing at the file-size limit (writes fail with EFBIG): one file reaches it exactly, none is larger, and the attack ends
# via: RLIMIT_FSIZE
# stop: filesize
# limits: filesize=2MiB wall=20s
cat /dev/zero > "$RT_WS/fill.bin"
