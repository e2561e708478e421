# attack: an endless Perl loop under a long wall limit and a one-second CPU limit
# category: exhaustion
# effect: Run returns with the process killed by the CPU limit, long before the wall limit
# via: cgroup CPU accounting polled by the parent; RLIMIT_CPU
# stop: cpu
# limits: cpu=1s wall=30s
1 while 1;
