"""Processes: the records one process wrote, grouped by (host, pid, start record).

Each process writes a start record first; every later record of that pid in
the same file belongs to it, until another start record of the same pid (a
program that exec'ed another one) begins a new process. Several processes may
share one file. Records of a pid with no start record before them form a
process of their own, marked as such.

A crash record is not always the end: the program's own handler may handle
the signal and go on (a Python signal.signal handler, a siglongjmp out of a
SIGSEGV handler). The process survived it when its summary follows, or a
record that only a thread out of its signal handler writes (a site or call
record, a finding of a sync check) of the thread that got the signal. Other
threads' records prove nothing: they keep coming while that thread runs a
handler (Python's faulthandler dumping every thread's stack) before it dies.
"""
import signal

from . import logfiles


class Process:
    def __init__(self, log, start=None, pid=None):
        self.log = log
        self.start = start
        self.pid = start.get("pid") if start else pid
        self.sites = {}    # site id -> site record (the first one)
        self.counts = {}   # site id -> [calls, upcasts, checked, nonfinite] (last wins)
        self._crashes_before_counts = 0  # crash records before the last counts record
        self.nonfinite = []
        self.crashes = []  # {"rec": crash record, "survived": bool}, in order
        self._pending = []  # the crashes not known to be survived
        self.summary = None
        self.warnings = []

    # -- what the start record says (None when it does not, or not as it should) --
    def _start(self, key, types=(str,)):
        value = self.start.get(key) if self.start else None
        return value if isinstance(value, types) and not isinstance(value, bool) else None

    @property
    def run(self):
        return self._start("run")

    @property
    def rank(self):
        """A number; or a string, for a rank variable that holds no number."""
        return self._start("rank", (int, str))

    @property
    def host(self):
        return self._start("host")

    @property
    def ppid(self):
        return self._start("ppid", (int,))

    @property
    def version(self):
        return self._start("version")

    @property
    def argv(self):
        return self._start("argv", (list,))

    @property
    def policy(self):
        return self._start("policy", (dict,)) or {}

    @property
    def start_time(self):
        return self._start("t", (int, float))

    @property
    def start_line(self):
        return self._start("_line", (int,))

    # -- how it ended --
    @property
    def state(self):
        """"crashed" (its last crash record, which it did not survive),
        "ended" (summary record) or "vanished" (neither: SIGKILL, the OOM
        killer, a lost node, or still running)."""
        if self.crashes and not self.crashes[-1]["survived"]:
            return "crashed"
        if self.summary is not None:
            return "ended"
        return "vanished"

    @property
    def signal_name(self):
        """The signal it crashed of (None when it did not)."""
        if self.state != "crashed":
            return None
        return crash_name(self.crashes[-1]["rec"])

    @property
    def counts_final(self):
        """Whether its counts records are its last word: after the counts
        written at a signal it survived, a process made calls they do not
        count (and wrote no counts again when it vanished)."""
        return not any(c["survived"] for c in self.crashes[self._crashes_before_counts:])

    def add(self, rec, messages):
        ev = rec["ev"]
        if self._pending and ev != "crash":
            self._went_on(rec)
        if ev == "site":
            if site_id(rec, "id") is None:
                messages.add("site record without a usable id; skipped", rec["_log"], rec["_line"])
            else:
                self.sites.setdefault(rec["id"], rec)
        elif ev == "counts":
            self._add_counts(rec, messages)
            self._crashes_before_counts = len(self.crashes)
        elif ev == "nonfinite":
            self.nonfinite.append(rec)
        elif ev == "crash":
            entry = {"rec": rec, "survived": False}
            self.crashes.append(entry)
            self._pending.append(entry)
        elif ev == "summary":
            self.summary = rec
        elif ev in ("warn", "error"):
            self.warnings.append(rec)

    def _went_on(self, rec):
        """Marks the crashes rec shows the process survived."""
        ev = rec["ev"]
        if ev == "summary":
            survived = self._pending
        elif ev in ("site", "call") or (ev == "nonfinite" and rec.get("check") == "sync"):
            tid = whole(rec.get("tid"))
            survived = [c for c in self._pending
                        if tid is not None and whole(c["rec"].get("tid")) == tid]
        else:
            return
        for entry in survived:
            entry["survived"] = True
        self._pending = [c for c in self._pending if not c["survived"]]

    def _add_counts(self, rec, messages):
        entries = rec.get("sites")
        if not isinstance(entries, list):
            return
        for entry in entries:
            if (isinstance(entry, list) and len(entry) >= 5
                    and all(isinstance(v, int) for v in entry[:5])):
                self.counts[entry[0]] = entry[1:5]
            else:
                messages.add("counts entry %s is not [id, calls, upcasts, checked, nonfinite]; "
                             "skipped" % (entry,), rec["_log"], rec["_line"])


def whole(value):
    """value if it is a whole number (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def real(value):
    """value if it is a number (not a bool), else None."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def site_id(rec, key):
    """rec[key] when it can be a site id (a number or a string), else None."""
    value = rec.get(key)
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None


def crash_name(rec):
    """A crash record's signal name."""
    return rec.get("name") or signal_name(rec.get("signal"))


def signal_name(number):
    try:
        return signal.Signals(int(number)).name
    except (TypeError, ValueError):
        return None if number is None else "signal %s" % number


def group_log(path, records, messages):
    """The processes of one log file, in the order their records begin."""
    processes, current = [], {}
    for rec in records:
        pid = rec.get("pid")
        pid = pid if isinstance(pid, (int, str)) else repr(pid)  # a dict key, whatever it is
        if rec["ev"] == "start":
            proc = Process(path, start=rec)
            processes.append(proc)
            current[pid] = proc
            continue
        proc = current.get(pid)
        if proc is None:
            proc = Process(path, pid=pid)
            processes.append(proc)
            current[pid] = proc
        proc.add(rec, messages)
    _note_missing_starts(path, processes, messages)
    return processes


def _note_missing_starts(path, processes, messages):
    if processes and all(p.start is None for p in processes):
        messages.add("log without a start record (its beginning is lost); reporting what "
                     "it holds", path)
        return
    for proc in processes:
        if proc.start is None:
            messages.add("records of pid %s come before any start record of it" % proc.pid, path)


def load(paths, messages):
    """Reads every log and returns (processes, logs): logs is a list of
    {"path", "records", "processes"}."""
    processes, logs = [], []
    for path in paths:
        tally = [0]
        group = group_log(path, _counted(logfiles.read_log(path, messages), tally), messages)
        if not tally[0]:
            messages.add("empty log (no record in it)", path)
        processes.extend(group)
        logs.append({"path": path, "records": tally[0], "processes": len(group)})
    return processes, logs


def _counted(records, tally):
    """records as they come, counted in tally[0]: the records a process
    does not keep (call records) are not kept in a list either."""
    for rec in records:
        tally[0] += 1
        yield rec


def note_versions(processes, version, messages):
    """One message per version for logs written by another safehalf version."""
    for proc in processes:
        theirs = proc.version
        if version and proc.start is not None and theirs != version:
            messages.add("written by safehalf %s, this is %s: reading what it can, fields "
                         "it lacks are shown as unknown" % (theirs, version),
                         proc.log, proc.start_line, once=("version", theirs))


def select_run(processes, run_id, since=None):
    """The processes of one run: their start record's "run" is run_id. With
    `since` (the command's fallback for shims that write no run id), also the
    processes whose start record has no "run" field and began at or after
    `since` (seconds since the epoch)."""
    chosen = []
    for proc in processes:
        if proc.start is None:
            continue
        if proc.run == run_id and run_id is not None:
            chosen.append(proc)
        elif since is not None and "run" not in proc.start and (proc.start_time or 0) >= since:
            chosen.append(proc)
    return chosen
