"""Signals: SIGTERM, SIGHUP, SIGINT and SIGQUIT sent to safehalf reach the
program once; ^C typed on a terminal reaches it once (from the terminal,
not again from safehalf); safehalf itself survives until the program ends."""
import fcntl
import os
import select
import signal
import subprocess
import sys
import termios
import time
import unittest

from reportlib import SAFEHALF, TempDirTest, clean_env

# The program: counts each signal it gets, says "ready", and exits 7 half a
# second after the first one (time for a second copy to arrive).
CHILD = r"""
import signal, sys, time
got = []
def on(sig, frame):
    got.append(signal.Signals(sig).name)
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
    signal.signal(s, on)
print("ready", flush=True)
deadline = time.time() + 30
while not got and time.time() < deadline:
    time.sleep(0.01)
time.sleep(0.5)
print("got " + " ".join(got), flush=True)
sys.exit(7)
"""


class Forwarding(TempDirTest):
    def start(self, **popen):
        p = subprocess.Popen([SAFEHALF, "--", sys.executable, "-c", CHILD], cwd=self.dir,
                             env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, **popen)
        self.addCleanup(p.kill)
        self.assertEqual(p.stdout.readline(), "ready\n")
        return p

    def test_each_signal_sent_to_safehalf_reaches_the_program_once(self):
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT):
            with self.subTest(signal=sig.name):
                p = self.start()
                p.send_signal(sig)
                out, err = p.communicate(timeout=30)
                self.assertEqual(out, "got %s\n" % sig.name)
                self.assertEqual(p.returncode, 7, err)
                self.assertIn("safehalf: the command exited with status 7\n", err)

    def test_program_killed_by_a_forwarded_signal(self):
        p = subprocess.Popen([SAFEHALF, "sh", "-c", "echo ready; exec sleep 30"], cwd=self.dir,
                             env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True)
        self.addCleanup(p.kill)
        self.assertEqual(p.stdout.readline(), "ready\n")
        p.terminate()
        _, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 128 + signal.SIGTERM, err)
        self.assertIn("the command was killed by SIGTERM (exit status 128 + 15 = 143)", err)


class Terminal(TempDirTest):
    """safehalf and the program on a pseudo-terminal of their own, as in an
    interactive shell: ^C makes the terminal signal the whole foreground
    process group."""

    def test_ctrl_c_reaches_the_program_once(self):
        master, slave = os.openpty()
        self.addCleanup(os.close, master)

        def controlling_terminal():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        p = subprocess.Popen([SAFEHALF, "--", sys.executable, "-c", CHILD], cwd=self.dir,
                             env=clean_env(), stdin=slave, stdout=slave, stderr=slave,
                             start_new_session=True, preexec_fn=controlling_terminal)
        os.close(slave)
        self.addCleanup(p.kill)
        out = self.read_until(master, b"ready")
        os.write(master, b"\x03")
        out += self.read_until(master, None)
        p.wait(timeout=30)
        text = out.decode("utf-8", "replace")
        self.assertIn("got SIGINT\r\n", text)
        self.assertEqual(p.returncode, 7, text)
        self.assertIn("safehalf: the command exited with status 7", text)

    @staticmethod
    def read_until(fd, marker, timeout=30):
        """What the terminal shows, up to marker (None: until it closes)."""
        data, deadline = b"", time.time() + timeout
        while time.time() < deadline and (marker is None or marker not in data):
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: every process closed the terminal
                break
            if not chunk:
                break
            data += chunk
        return data


if __name__ == "__main__":
    unittest.main(verbosity=2)
