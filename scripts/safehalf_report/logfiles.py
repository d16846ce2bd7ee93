"""Finding safehalf logs and reading their records.

A log is JSON Lines written by the shim, one record per line. Reading never
stops at a bad line: each problem becomes one message naming the file and the
line, and the rest is read.
"""
import glob
import json
import os
import re
import sys

# Record types this reader knows; others are skipped with one message per file.
KNOWN_EVENTS = frozenset(
    ["start", "call", "nonfinite", "crash", "warn", "error", "summary", "site", "counts"])

# Fields without which a record says little; their absence gets a message.
# Fields that newer shims added (run, rank, site_id, call_t, ...) are optional.
REQUIRED_FIELDS = {
    "start": ("version", "policy"),
    "nonfinite": ("api", "seq"),
    "site": ("id", "api"),
    "counts": ("sites",),
    "crash": ("name",),
    "summary": ("apis",),
}


class Messages:
    """Problems found while reading: printed to a stream as they come, kept
    for the JSON document. A message with a once key is kept only once."""

    def __init__(self, prefix="safehalf report: ", stream=None):
        self.prefix = prefix
        self.stream = stream
        self.items = []
        self._once = set()

    def add(self, msg, path=None, line=None, once=None):
        if once is not None:
            if once in self._once:
                return
            self._once.add(once)
        item = {"file": path, "line": line, "msg": msg}
        self.items.append(item)
        if self.stream is not None:
            print(self.prefix + self.format(item), file=self.stream)

    @staticmethod
    def format(item):
        where = item["file"] or ""
        if item["file"] and item["line"]:
            where += ":%d" % item["line"]
        return "%s: %s" % (where, item["msg"]) if where else item["msg"]


def natural_key(path):
    """Sort key that puts rank2 before rank10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path)]


def expand_log_args(args, messages):
    """Files named by LOG arguments: files, directories (their *.jsonl, not
    recursive) or glob patterns. Each file once, in a stable order."""
    paths, seen = [], set()
    for arg in args:
        found = _expand_one(arg)
        if not found:
            messages.add("no log matches %s" % arg)
        for path in found:
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                paths.append(path)
    return paths


def _expand_one(arg):
    if os.path.isdir(arg):
        return sorted(glob.glob(os.path.join(glob.escape(arg), "*.jsonl")), key=natural_key)
    if os.path.exists(arg):
        return [arg]  # named as it is: a file, or a pipe such as <(zcat run.jsonl.gz)
    return sorted((p for p in glob.glob(arg) if os.path.isfile(p)), key=natural_key)


def read_log(path, messages):
    """The records of one log, one at a time, each a dict with two more keys:
    "_log" (the path) and "_line" (1-based line number). The file is read a
    line at a time: a trace-level log of millions of call records is never
    held whole."""
    try:
        with open(path, "rb") as f:
            for number, raw in enumerate(f, 1):
                # only the last line can lack its newline
                cut_short = not raw.endswith(b"\n")
                rec = _parse_line(raw, path, number, cut_short, messages)
                if rec is not None:
                    yield rec
    except OSError as e:
        messages.add("cannot read: %s" % e.strerror, path)


def _parse_line(raw, path, number, cut_short, messages):
    text = raw.decode("utf-8", "replace").strip()
    if not text:
        return None
    try:
        rec = json.loads(text)
    except ValueError:
        rec = None
    if not isinstance(rec, dict):
        if cut_short:
            messages.add("last line cut short (the process was probably killed while "
                         "writing it); ignored", path, number)
        else:
            messages.add("corrupt line (not a JSON object); skipped", path, number)
        return None
    ev = rec.get("ev")
    if not isinstance(ev, str):
        messages.add('record without an "ev" type; skipped', path, number)
        return None
    if ev not in KNOWN_EVENTS:
        messages.add('unknown record type "%s" (from a newer safehalf?); ignored' % ev,
                     path, number, once=("ev", path, ev))
        return None
    _note_missing(rec, ev, path, number, messages)
    rec["_log"], rec["_line"] = path, number
    return rec


def _note_missing(rec, ev, path, number, messages):
    missing = [f for f in ("pid",) + REQUIRED_FIELDS.get(ev, ()) if f not in rec]
    if missing:
        messages.add("%s record lacks %s; shown as unknown" % (ev, ", ".join(missing)),
                     path, number)


def stderr_messages(prefix):
    return Messages(prefix=prefix, stream=sys.stderr)
