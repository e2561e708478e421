# attack: Python daemonizes: double fork with setsid, closes descriptors, ignores SIGHUP and SIGTERM, chdir("/"), then writes into the workspace 2 s later
# category: outlive
# effect: after Run returns no process with the attack's marker exists on the host, and the survivor's file never appears
# via: pid namespace; parent-death signal
# control: yes
import os, signal, sys, time
ws = os.environ["RT_WS"]
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.chdir("/")
        os.closerange(0, 1024)
        time.sleep(2)
        open(ws + "/LATE-daemon-py", "w").write("alive")
        os._exit(0)
    os._exit(0)
sys.exit(0)
