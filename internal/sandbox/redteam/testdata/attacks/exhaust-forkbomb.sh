# attack: the shell fork bomb b() { b | b & }; b
# category: exhaustion
# effect: Run returns within the wall limit with the pids limit hit; no process of the attack is left on the host
# via: cgroup pids limit; wall limit; pid namespace
# stop: pids
# limits: pids=24 wall=3s
b() { b | b & }
b
sleep 5
