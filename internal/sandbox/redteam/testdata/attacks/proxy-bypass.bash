# attack: with the proxy granted, connect around it: straight to the host's 127.0.0.1 and ::1 listeners and to the allowed host, over TCP (bash /dev/tcp) and UDP, then through it to a port not granted
# category: proxy
# effect: the TCP and UDP listeners on the host's 127.0.0.1 and ::1 saw nothing; the audit entry records a refused proxy attempt
# via: the sandbox's network namespace holds only its loopback and the proxy listener; Landlock allows TCP connect to the proxy port only; seccomp refuses UDP
exec 3<>/dev/tcp/127.0.0.1/3128 && printf 'GET http://%s/ HTTP/1.0\r\n\r\n' "$RT_ALLOWED" >&3 && grep -q 'allowed target' <&3 && echo "control: ok"
exec 3<&-
(exec 4<>/dev/tcp/127.0.0.1/"$RT_TCP" && echo escaped >&4) && echo "direct 127.0.0.1 connected"
[ -n "$RT_TCP6" ] && (exec 4<>/dev/tcp/::1/"$RT_TCP6" && echo escaped >&4) && echo "direct ::1 connected"
(exec 4<>/dev/tcp/"${RT_ALLOWED%:*}"/"${RT_ALLOWED#*:}" && echo escaped >&4) && echo "direct to the allowed host connected"
(echo escaped >/dev/udp/127.0.0.1/"$RT_UDP") && echo "udp sent"
exec 5<>/dev/tcp/127.0.0.1/3128 && printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\n\r\n' "$RT_TCP" >&5 && head -c 64 <&5
echo escaped >&5
true
