"""The report document (see analysis.py) as text: the full report, and the
short summary the command prints after a run."""
import shlex
import time

from .analysis import STATE_MEANING

UNKNOWN = "?"

# What the shim did to the call (a site record's "action").
ACTIONS = {
    "upcast": "upcast: rewritten to accumulate in FP32",
    "pass": "pass: not risky (or its family not upcast), left as it was",
    "observe": "observe: risky, left alone (SAFEHALF_MODE=observe)",
    "min_k": "min_k: FP16 accumulation left alone (k < SAFEHALF_MIN_K)",
    "fallback": "fallback: the rewrite was not possible, the call was made unchanged",
}


# -- small formatters ----------------------------------------------------------

def value(v):
    return UNKNOWN if v is None else str(v)


def when(t):
    """Seconds since the epoch as local time, to the microsecond."""
    if t is None:
        return UNKNOWN
    try:
        seconds, micros = divmod(int(round(t * 1e6)), 1000000)
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds)) + ".%06d" % micros
    except (OverflowError, ValueError, OSError):
        return str(t)


def shape(row):
    """A finding of a grouped GEMM is one group's: its index follows; one of
    an output beside the call's main one (a cuBLASLt epilogue's) names it."""
    text = "m=%s n=%s k=%s batch=%s" % tuple(value(row.get(k)) for k in ("m", "n", "k", "batch"))
    for key in ("group", "output"):
        if row.get(key) is not None:
            text += " %s=%s" % (key, value(row[key]))
    return text


def short_shape(row):
    text = "x".join(value(row.get(k)) for k in ("m", "n", "k"))
    batch = row.get("batch")
    return text if batch in (None, 1) else "%s b%s" % (text, batch)


def types(row):
    """A/B/C types, then the compute type asked for and the one used."""
    abc = [row.get("atype"), row.get("btype"), row.get("ctype")]
    if abc[0] == abc[1] == abc[2]:
        data = "A/B/C %s" % value(abc[0])
    else:
        data = "A %s, B %s, C %s" % tuple(value(t) for t in abc)
    return "%s; %s" % (data, compute(row))


def compute(row):
    asked, used = row.get("compute"), row.get("compute_used")
    if asked == used or used is None:
        return "compute %s" % value(asked)
    return "compute %s asked, %s used" % (value(asked), value(used))


def short_types(row):
    def cut(t):
        t = value(t)
        for prefix in ("CUDA_R_", "CUBLAS_COMPUTE_", "CUDNN_DATA_"):
            if t.startswith(prefix):
                return t[len(prefix):]
        return t
    abc = "/".join(cut(row.get(k)) for k in ("atype", "btype", "ctype"))
    asked, used = cut(row.get("compute")), cut(row.get("compute_used"))
    return "%s %s" % (abc, asked if asked == used else "%s->%s" % (asked, used))


def frame(f):
    return "%s:%s in %s" % (value(f.get("file")), value(f.get("line")), value(f.get("func")))


def native(caller):
    """file:line in function (object+offset), as addr2line resolved it;
    else object+offset (symbol), or the bare address."""
    if not isinstance(caller, dict):
        return UNKNOWN
    if caller.get("object"):
        text = "%s+%s" % (caller["object"], value(caller.get("offset")))
    else:
        text = "address %s" % value(caller.get("address"))
    src = caller.get("source")
    if isinstance(src, dict):
        place = "%s:%s" % (src["file"], value(src.get("line"))) if src.get("file") else ""
        if src.get("func"):
            place += (" in " if place else "in ") + src["func"]
            if src.get("inlined_into"):
                place += " (inlined into %s)" % src["inlined_into"]
        return "%s (%s)" % (place, text)
    return text + (" (%s)" % caller["symbol"] if caller.get("symbol") else "")


def where(row):
    """The innermost Python frame, else the native caller."""
    if row.get("site"):
        return frame(row["site"][0])
    return native(row.get("caller"))


def count(row, name):
    """A site's count; when the process wrote no counts (or none since a
    signal it survived), what the log proves: a lower bound, or "?" when
    that is 0. Every call of a site has the same action, so a site that was
    not upcast has 0 upcasts."""
    n = row.get(name)
    if row.get("exact", True) or (name == "upcasts" and row.get("action") not in ("upcast", None)):
        return value(n)
    return ">=%d" % n if n else UNKNOWN


def state(proc):
    """How it ended; then the signals it survived: "crashed (SIGSEGV);
    survived SIGABRT (handled by the program)". A process whose handler got
    another signal while handling one (a SIGSEGV handler that aborts) died
    of the last: "crashed (SIGABRT, after SIGSEGV)"."""
    crashes = proc["crashes"]
    if proc["state"] == "crashed":
        last = value(proc["signal"])
        before = _distinct([value(c["name"]) for c in crashes[:-1] if not c["survived"]],
                           last)
        text = "crashed (%s)" % (last + (", after " + ", ".join(before) if before else ""))
    else:
        text = STATE_MEANING[proc["state"]]
    survived = [value(c["name"]) for c in crashes if c["survived"]]
    if survived:
        text += "; survived %s (handled by the program)" % ", ".join(
            name if n == 1 else "%s x%d" % (name, n)
            for name, n in ((name, survived.count(name)) for name in _distinct(survived)))
    return text


def _distinct(names, leave_out=None):
    out = []
    for name in names:
        if name not in out and name != leave_out:
            out.append(name)
    return out


def survived_any(proc):
    return any(c["survived"] for c in proc["crashes"])


VANISHED_NOTE = ("vanished: the log has neither a summary record nor a crash record it did not "
                 "survive: SIGKILL (the OOM killer, a job scheduler), a lost node, or a process "
                 "still running")
SURVIVED_NOTE = ("survived: the program's own handler handled the signal and the process went "
                 "on (the thread that got it made calls after its crash record, or the process "
                 "exited normally)")


def who(proc_or_event):
    parts = []
    if proc_or_event.get("rank") is not None:
        parts.append("rank %s" % proc_or_event["rank"])
    parts.append("pid %s" % value(proc_or_event.get("pid")))
    if proc_or_event.get("host"):
        parts.append("host %s" % proc_or_event["host"])
    return ", ".join(parts)


def plural(n, word, words=None):
    return "%d %s" % (n, word if n == 1 else (words or word + "s"))


def table(headers, rows, right=()):
    """Columns padded to their widest cell; columns in `right` right-aligned."""
    widths = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]

    def line(cells):
        out = [str(c).rjust(w) if i in right else str(c).ljust(w)
               for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(out).rstrip()
    return [line(headers)] + [line(r) for r in rows]


# -- the full report -------------------------------------------------------------

def report(doc):
    lines = ["safehalf report: %s, %s" % (plural(len(doc["logs"]), "log"),
                                          plural(len(doc["processes"]), "process", "processes"))]
    for section in (_runs, _processes, _first, _first_by_process, _sites, _policy_effect,
                    _warnings):
        body = section(doc)
        if body:
            lines += [""] + body
    return "\n".join(lines) + "\n"


def _runs(doc):
    lines = []
    for run in doc["runs"]:
        title = "Run %s" % run["run"] if run["run"] else "Run without a run id"
        lines += ([""] if lines else []) + ["%s (safehalf %s)" % (title, value(run["version"]))]
        for argv in run["argv"][:3]:
            lines.append("  command:   %s" % " ".join(shlex.quote(str(a)) for a in argv))
        if len(run["argv"]) > 3:
            lines.append("  (and %s)" % plural(len(run["argv"]) - 3, "other command line"))
        if run["hosts"]:
            lines.append("  hosts:     %s" % ", ".join(run["hosts"]))
        lines.append("  policy:    %s" % policy_line(run["policy"]))
        lines.append("  processes: %d" % len(run["pids"]))
    return lines


def policy_line(policy):
    parts = []
    for key, v in policy.items():
        if isinstance(v, list):
            v = ",".join(str(x) for x in v) or "none"
        elif isinstance(v, bool):
            v = "yes" if v else "no"
        parts.append("%s=%s" % (key, "none" if v is None else v))
    return " ".join(parts) or UNKNOWN


def _processes(doc):
    rows = []
    for proc in doc["processes"]:
        st = state(proc) if proc["has_start"] else "%s; log without a start record" % state(proc)
        rows.append([value(proc["rank"]) if proc["rank"] is not None else "-",
                     value(proc["pid"]), proc["host"] or "-", st, proc["nonfinite"],
                     "%s" % proc["log"]])
    lines = ["Processes"] + ["  " + l for l in table(
        ["RANK", "PID", "HOST", "STATE", "FINDINGS", "LOG"], rows, right=(4,))]
    if any(p["state"] == "vanished" for p in doc["processes"]):
        lines.append("  " + VANISHED_NOTE)
    if any(survived_any(p) for p in doc["processes"]):
        lines.append("  " + SURVIVED_NOTE)
    return lines


def _first(doc):
    ev = doc["first_nonfinite"]
    if ev is None:
        unlogged = _unlogged(doc)
        if unlogged:
            return ["No non-finite output was logged, but %s were counted: %s." % (
                plural(unlogged, "non-finite output"), UNLOGGED_WHY)]
        return ["No non-finite output was found (in the calls that were checked)."]
    total = doc["nonfinite"]
    lines = ["First non-finite output (of %s in %s)" % (
        plural(total["records"], "finding"),
        plural(total["processes"], "process", "processes"))]
    lines += ["  " + l for l in first_event_lines(ev)]
    return lines


def _first_by_process(doc):
    rows = doc["first_by_process"]
    if len(rows) < 2:
        return []
    lines = ["First finding of each process (each host's own clock)"]
    body = [[value(r["rank"]) if r["rank"] is not None else "-", value(r["pid"]),
             r["host"] or "-", when(r["time"]), "%s #%s" % (value(r["api"]), value(r["seq"])),
             r["inputs"] or UNKNOWN, where(r)] for r in rows]
    lines += ["  " + l for l in table(["RANK", "PID", "HOST", "TIME", "CALL", "INPUTS", "WHERE"],
                                      body, right=(1,))]
    lines.append("  inputs: created, they were finite (the Inf/NaN began in that call); "
                 "received, they already held Inf/NaN; ? not scanned (SAFEHALF_CHECK_INPUTS=1)")
    if len({r["host"] for r in rows}) > 1:
        lines.append("  Times on different hosts come from different clocks, which may be "
                     "milliseconds or more apart.")
    # On one host the order holds, and an earliest that received its Inf/NaN
    # got it from a kernel the shim does not see; across hosts it may not.
    first = rows[0]
    created = [r for r in rows[1:] if r["inputs"] == "created" and r["host"] != first["host"]]
    if first["inputs"] != "created" and created and first["time"] is not None and \
            created[0]["time"] is not None:
        lines.append("  The earliest finding received its Inf/NaN, and %s created one: that is where "
                     "it began if %s's clock is more than %.3f ms ahead of %s's." % (
                         who(created[0]), value(created[0]["host"]),
                         (created[0]["time"] - first["time"]) * 1e3, value(first["host"])))
    return lines


UNLOGGED_WHY = ("their records were suppressed (SAFEHALF_MAX_RECORDS) or dropped, so which "
                "came first is not known; run again with SAFEHALF_MAX_RECORDS >= 1")


def _unlogged(doc):
    """Findings the counters saw when no nonfinite record is in the logs
    (SAFEHALF_MAX_RECORDS=0): "none found" would contradict the counts."""
    return sum(c["nonfinite"] for c in doc["policy_effect"]["apis"].values())


def first_event_lines(ev):
    lines = ["call:      %s #%s, %s" % (value(ev["api"]), value(ev["seq"]), shape(ev)),
             "types:     %s" % types(ev)]
    if ev.get("site_action"):
        action = value(ev["site_action"])
        lines.append("policy:    %s" % ACTIONS.get(action, action))
    lines.append("found:     %s +Inf, %s -Inf, %s NaN in %s elements; first at %s; "
                 "largest finite |x| %s" % (value(ev["pos_inf"]), value(ev["neg_inf"]),
                                            value(ev["nan"]), value(ev["numel"]),
                                            _element(ev), value(ev["absmax"])))
    lines.append("action:    %s%s" % (value(ev["action"]), _graph(ev)))
    lines.append("inputs:    %s" % ev["inputs_meaning"])
    lines += _where_lines(ev)
    thread = value(ev["thread"])
    if ev.get("thread_name"):
        thread += " (%s)" % ev["thread_name"]
    lines.append("thread:    %s" % thread)
    lines.append("process:   %s" % who(ev))
    lines.append("log:       %s, line %s" % (ev["log"], ev["line"]))
    lines.append("time:      %s (%s)" % (when(ev["time"]),
                                         "of the call" if ev["time_from"] == "call_t"
                                         else "of the record; the call was a little earlier"))
    return lines


def _element(ev):
    first = ev.get("first")
    if isinstance(first, dict):
        return "batch %s row %s col %s" % tuple(value(first.get(k))
                                                for k in ("batch", "row", "col"))
    return "index %s" % value(ev.get("first_index"))


def _graph(ev):
    if ev.get("captured"):
        return " (inside a CUDA graph, replay %s)" % value(ev.get("replay"))
    return ""


def _where_lines(ev):
    lines = []
    if ev.get("site"):
        lines.append("where:     %s" % frame(ev["site"][0]))
        lines += ["           %s" % frame(f) for f in ev["site"][1:]]
        lines.append("caller:    %s" % native(ev["caller"]))
    else:
        lines.append("where:     %s (native caller; no Python call site)" % native(ev["caller"]))
    for i, f in enumerate((ev.get("backtrace") or [])[:16]):
        lines.append("%s%s" % ("backtrace: " if i == 0 else " " * 11, native(f)))
    return lines


def _sites(doc):
    rows, extra = [], []
    for site in doc["sites"]:
        rows.append([site["api"] or UNKNOWN, short_shape(site), short_types(site),
                     count(site, "calls"), count(site, "upcasts"), count(site, "nonfinite"),
                     value(site["first_seq"]), site["processes"]])
        extra.append(_site_where(site))
    if not rows:
        return []
    lines = ["Call sites (merged across processes when where, api, shape and types are equal)"]
    if not all(site["exact"] for site in doc["sites"]):
        lines.append("  >=N, ?: the process wrote no counts (it vanished), or none since a signal "
                     "it survived; what its log proves")
    header, *body = table(["API", "SHAPE", "TYPES", "CALLS", "UPCASTS", "NONFINITE",
                           "FIRST SEQ", "PROCS"], rows, right=(3, 4, 5, 6, 7))
    lines.append("  " + header)
    for row_line, at in zip(body, extra):
        lines += ["  " + row_line, "      at " + at]
    return lines


def _site_where(site):
    text = where(site)
    if site.get("site") and len(site["site"]) > 1:
        text += " (+%s)" % plural(len(site["site"]) - 1, "outer frame")
    return text


def _policy_effect(doc):
    eff = doc["policy_effect"]
    lines = ["What the policy changed"]
    rows = [[api, c["calls"], c["upcasts"], c["checked"], c["nonfinite"]]
            for api, c in eff["apis"].items()]
    if rows:
        lines += ["  " + l for l in table(["API", "CALLS", "UPCASTS", "CHECKED", "NONFINITE"],
                                          rows, right=(1, 2, 3, 4))]
    lines += _counted_from(eff)
    for item in eff["coverage"]:
        lines.append("  %s = %d: %s" % (item["counter"], item["value"], item["meaning"]))
    return lines


def _counted_from(eff):
    lines = []
    if eff["from_site_counts"]:
        lines.append("  pid %s: no summary record; counted from its call-site counts, which "
                     "leave out calls that are not GEMMs" %
                     ", ".join(str(p) for p in eff["from_site_counts"]))
    if eff["uncounted"]:
        lines.append("  pid %s: no counts at all (vanished, or an older safehalf): "
                     "not in these totals" % ", ".join(str(p) for p in eff["uncounted"]))
    return lines


def _warnings(doc):
    if not doc["warnings"]:
        return []
    lines = ["Warnings written by the shim"]
    for w in doc["warnings"]:
        lines.append("  %s (%s, pid %s)" % (w["msg"], plural(w["count"], "time"),
                                            ", ".join(str(p) for p in w["pids"][:5])))
    return lines


# -- the command's summary ----------------------------------------------------------

def summary(doc, report_command, max_processes=6):
    """The command's summary of its run's logs, after its header and the
    command's fate: `report_command` prints the full report."""
    lines = []
    paths = [log["path"] for log in doc["logs"]]
    lines.append("%s: %s" % ("log" if len(paths) == 1 else "logs", _paths(paths)))
    lines += _process_states(doc["processes"], max_processes)
    lines += _api_totals(doc["policy_effect"])
    ev = doc["first_nonfinite"]
    unlogged = _unlogged(doc) if ev is None else 0
    if unlogged:
        lines.append("%s counted, none logged: %s" % (
            plural(unlogged, "Inf/NaN output"), UNLOGGED_WHY))
    elif ev is None:
        lines.append("no Inf/NaN found in the checked outputs")
    else:
        lines += _first_brief(ev, doc["nonfinite"])
    gaps = doc["policy_effect"]["coverage"]
    if gaps:
        lines.append("not everything was checked: %s (the full report says what each means)" %
                     ", ".join("%s = %d" % (g["counter"], g["value"]) for g in gaps))
    lines.append("full report: %s" % report_command)
    return lines


def _paths(paths, limit=4):
    shown = ", ".join(paths[:limit])
    return shown + (" and %d more" % (len(paths) - limit) if len(paths) > limit else "")


def _process_states(processes, limit):
    if len(processes) <= limit:
        return ["process %s: %s" % (who(p), state(p)) for p in processes]
    by_state = {}
    for p in processes:
        by_state.setdefault(state(p), []).append(p)
    lines = ["%d processes: %s" % (len(processes), ", ".join(
        "%d %s" % (len(ps), st) for st, ps in by_state.items()))]
    odd = [p for p in processes if p["state"] != "ended" or survived_any(p)][:limit]
    lines += ["process %s: %s" % (who(p), state(p)) for p in odd]
    return lines


def _api_totals(eff):
    if not eff["apis"]:
        return ["no intercepted call counted"]
    lines = ["intercepted calls:"]
    width = max(len(api) for api in eff["apis"])
    for api, c in eff["apis"].items():
        lines.append("  %s  %s, %d upcast, %d checked, %d non-finite" % (
            api.ljust(width), plural(c["calls"], "call"), c["upcasts"], c["checked"],
            c["nonfinite"]))
    if eff["from_site_counts"]:
        lines.append("  (pid %s: no summary record; GEMMs counted from its call-site counts)" %
                     ", ".join(str(p) for p in eff["from_site_counts"]))
    if eff["uncounted"]:
        lines.append("  (not counted: pid %s, which wrote no counts)" %
                     ", ".join(str(p) for p in eff["uncounted"]))
    return lines


def _first_brief(ev, total):
    head = "first Inf/NaN (of %s): %s #%s %s (%s): %s +Inf, %s -Inf, %s NaN of %s" % (
        plural(total["records"], "finding"), value(ev["api"]), value(ev["seq"]), shape(ev),
        types(ev), value(ev["pos_inf"]), value(ev["neg_inf"]), value(ev["nan"]),
        value(ev["numel"]))
    place = frame(ev["site"][0]) if ev.get("site") else native(ev["caller"])
    inputs = ev["inputs_meaning"].split(":")[0]
    return [head, "  at %s; %s; inputs: %s; action: %s" % (place, who(ev), inputs,
                                                          value(ev["action"]))]

