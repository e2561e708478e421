// attack: the kernel keyring: add_key into the session and user keyrings, keyctl join_session_keyring and request_key; any success is saved as a proof file
// category: privilege
// effect: no proof file
// via: seccomp denies add_key, keyctl and request_key
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static void proof(const char *what, long r) {
	printf("%s: %ld\n", what, r);
	if (r >= 0) {
		char p[128];
		snprintf(p, sizeof p, "PWNED-%s", what);
		close(open(p, O_WRONLY | O_CREAT, 0644));
	}
}

int main(void) {
	const char *m = getenv("RT_MARKER");
	proof("add_key-session", syscall(SYS_add_key, "user", m, "secret", 6, -3 /* KEY_SPEC_SESSION_KEYRING */));
	proof("add_key-user", syscall(SYS_add_key, "user", m, "secret", 6, -4 /* KEY_SPEC_USER_KEYRING */));
	proof("keyctl-join", syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, m));
	proof("request_key", syscall(SYS_request_key, "user", m, NULL, 0));
	return 0;
}
