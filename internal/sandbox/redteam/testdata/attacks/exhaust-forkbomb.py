# attack: Python forks until fork fails, every child sleeping
# category: exhaustion
# effect: Run returns with the pids limit hit; no process of the attack is left on the host
# via: cgroup pids limit
# stop: pids
# limits: pids=24 wall=10s
import os, time
n = 0
while n < 100000:
    try:
        if os.fork() == 0:
            time.sleep(20)
            os._exit(0)
        n += 1
    except OSError:
        break
print("forked", n)
