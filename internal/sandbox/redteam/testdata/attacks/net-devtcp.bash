# attack: bash's /dev/tcp and /dev/udp redirections to the host's listeners on 127.0.0.1
# category: network
# effect: the test's TCP and UDP listeners record nothing
# via: empty network namespace; Landlock denies TCP connect; seccomp refuses UDP sockets
# control: yes
exec 3<>"/dev/tcp/127.0.0.1/$RT_TCP" && echo escaped-devtcp >&3
exec 4<>"/dev/udp/127.0.0.1/$RT_UDP" && echo escaped-devudp >&4
exit 0
