# attack: the shell resolves host names with getent (hosts and ahosts: the libc resolver reading resolv.conf)
# category: network
# effect: no name resolves (a resolved address would be saved as a proof file)
# via: empty network namespace (no route to any name server)
cd "$RT_WS" || exit 1
for h in example.com deb.debian.org "$RT_MARKER.example.org"; do
	getent hosts "$h" >> PWNED-dns-getent && continue
	getent ahosts "$h" >> PWNED-dns-getent && continue
done
[ -s PWNED-dns-getent ] || rm -f PWNED-dns-getent
exit 0
