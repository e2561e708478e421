# attack: an endless shell loop
# category: exhaustion
# effect: Run returns soon after the wall limit with the process killed by it
# via: wall-clock limit (the parent kills the namespace's init)
# stop: wall
# limits: wall=2s
while :; do :; done
