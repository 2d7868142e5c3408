# Stops every libuv pool thread of a process for a while with ptrace, then lets them go one
# at a time, without the kernel's run queue seeing any of it (a stopped thread is not
# runnable): what a pool thread slow to run for a reason the run queue does not show (the
# hypervisor running another guest, a page fault on a loaded machine) looks like.
#   python3 freeze-pool.py <pid> <stop ms> <gap ms>
# Pool threads are the threads named libuv-worker; where libuv does not name them (< 1.50),
# every thread but the main one. Prints how many it stopped.
import ctypes
import os
import sys
import time

PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_DETACH = 17
WALL = 0x40000000

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long


def ptrace(request, tid):
    if libc.ptrace(request, tid, None, None) != 0:
        raise OSError(ctypes.get_errno(), 'ptrace %#x %d' % (request, tid))


def pool_threads(pid):
    tids = []
    for name in os.listdir('/proc/%d/task' % pid):
        try:
            with open('/proc/%d/task/%s/comm' % (pid, name)) as f:
                if f.read().strip() == 'libuv-worker':
                    tids.append(int(name))
        except OSError:
            pass
    if tids:
        return sorted(tids)
    return sorted(int(name) for name in os.listdir('/proc/%d/task' % pid) if int(name) != pid)


def main():
    pid, stop_ms, gap_ms = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    tids = pool_threads(pid)
    for tid in tids:
        ptrace(PTRACE_SEIZE, tid)
        ptrace(PTRACE_INTERRUPT, tid)
    for tid in tids:
        os.waitpid(tid, WALL)
    time.sleep(stop_ms / 1000)
    for tid in tids:
        ptrace(PTRACE_DETACH, tid)
        time.sleep(gap_ms / 1000)
    print(len(tids))


main()
