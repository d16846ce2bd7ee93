"""The report as one document: plain dicts, lists, strings and numbers, so
that `safehalf report --json` prints it as it is and the text renderer and
the command's summary read the same thing. Its keys are documented in
README.md ("The safehalf command and the report")."""
import json

from . import sites as sitemod
from . import symbols
from .processes import crash_name, site_id, whole

EARLIER_OP = ("produced by an earlier op the shim cannot see, e.g. a normalization or "
              "softmax kernel")
UNKNOWN_INPUTS = "unknown: run with SAFEHALF_CHECK_INPUTS=1 to know"


def _count(v):
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else 0


def _and(names):
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def inputs_meaning(rec):
    """Whether a finding's call made the Inf/NaN or received it, in words,
    naming the inputs as the record does (A and B of a GEMM, x and w of a
    convolution, ...). Records of older versions name none."""
    finite = rec.get("inputs_finite")
    inputs = rec.get("inputs") if isinstance(rec.get("inputs"), dict) else {}
    names = [str(n) for n, v in inputs.items() if isinstance(v, dict)]
    if finite is True:
        return "created here: its inputs %s were finite" % _and(names) if names else \
            "created here: its inputs were finite"
    if finite is False:
        bad = []
        for n in names:
            inf, nan = _count(inputs[n].get("inf")), _count(inputs[n].get("nan"))
            if inf or nan:
                bad.append("%s (%s)" % (n, ", ".join(
                    ["%d Inf" % inf] * bool(inf) + ["%d NaN" % nan] * bool(nan))))
        if bad:
            return "received: its input%s %s already held Inf/NaN, %s" % (
                "s" * (len(bad) > 1), _and(bad), EARLIER_OP)
        return "received: inputs already held Inf/NaN, " + EARLIER_OP
    unread = ("could not be scanned (it shares the output's memory, or has a type the scan "
              "does not read)")
    if names:
        return "unknown: its inputs %s were finite, but another %s" % (_and(names), unread)
    if "inputs" in rec and isinstance(rec["inputs"], dict):
        return "unknown: its inputs " + unread.replace("it shares", "they share").replace(
            "has a type", "have types")
    return UNKNOWN_INPUTS

STATE_MEANING = {
    "ended": "ended normally",
    "crashed": "crashed",
    "vanished": "vanished without an exit record",
}

# Summary counters that mean some outputs were not checked or not logged.
COVERAGE = (
    ("skipped_pool_full", "checks skipped because every result slot stayed busy (the GPU "
                          "was far behind): those outputs were not scanned"),
    ("skipped_capture", "calls captured into CUDA graphs left unchecked "
                        "(SAFEHALF_CHECK_CAPTURE=skip, a capture the driver could not "
                        "describe, or more than 256 captured calls)"),
    ("skipped_native_graph", "cuDNN plans that cuDNN itself put into the program's CUDA graphs "
                             "(cudnnBackendPopulateCudaGraph/UpdateCudaGraph, cudnn-frontend's "
                             "populate_cuda_graph): their outputs were not checked"),
    ("launch_failed", "scans that could not be launched: those outputs were not scanned"),
    ("lost_at_exit", "scans still running at exit (after a 2 s wait): their results "
                     "were lost"),
    ("unseen_replays", "CUDA graph replays that came and went between two polls: not "
                       "examined"),
    ("records_suppressed", "findings past SAFEHALF_MAX_RECORDS per call site: counted, "
                           "not logged"),
)

# Counters of the summary's "sites" object that mean calls were not
# attributed to a call site, or not to a Python one.
SITE_COVERAGE = (
    ("untracked_calls", "calls made when the call-site table was full: counted per api, not "
                        "per call site"),
    ("pystacks_dropped", "Python stacks that could not be kept (their table was full): those "
                         "sites name the native caller only"),
)

FINDING_FIELDS = ("api", "seq", "m", "n", "k", "batch", "group", "output", "atype", "btype",
                  "ctype", "compute", "compute_used", "action", "inf", "pos_inf", "neg_inf",
                  "nan", "numel", "first_index", "first", "absmax", "inputs_finite", "inputs",
                  "check", "captured", "replay", "stream", "device", "caller", "thread",
                  "thread_name", "site_id")


def build(processes, logs, messages, version, symbolize="all"):
    """The whole report. `version` is the report tool's own. symbolize:
    which native callers get their source line ("all", "first": the first
    finding's, None: none)."""
    doc = {
        "version": version,
        "logs": logs,
        "runs": runs(processes),
        "processes": [process_entry(p) for p in sorted(processes, key=_rank_order)],
        "first_nonfinite": first_nonfinite(processes),
        "first_by_process": first_by_process(processes),
        "nonfinite": {"records": sum(len(p.nonfinite) for p in processes),
                      "processes": sum(1 for p in processes if p.nonfinite)},
        "sites": sitemod.merged_sites(processes),
        "policy_effect": policy_effect(processes),
        "warnings": shim_warnings(processes),
        "messages": messages.items,
    }
    if symbolize:
        symbols.resolve(doc, messages, first_only=symbolize == "first")
    return doc


def _rank_order(proc):
    """Ranks in order (numbers, then other names, then none), then pids."""
    rank, pid = proc.rank, proc.pid if isinstance(proc.pid, int) else -1
    if isinstance(rank, int) and not isinstance(rank, bool):
        return (0, rank, "", pid)
    return (1 if rank is not None else 2, 0, str(rank), pid)


def process_entry(proc):
    return {
        "pid": proc.pid, "rank": proc.rank, "host": proc.host, "ppid": proc.ppid,
        "run": proc.run, "version": proc.version, "log": proc.log, "line": proc.start_line,
        "has_start": proc.start is not None, "state": proc.state,
        "signal": proc.signal_name,
        "crashes": [{"name": crash_name(c["rec"]), "line": c["rec"]["_line"],
                     "survived": c["survived"]} for c in proc.crashes],
        "nonfinite": len(proc.nonfinite),
    }


def runs(processes):
    """Processes grouped by run id, safehalf version and policy (the policy's
    "log" is each process's own expanded path, so it is left out)."""
    groups = {}
    for proc in processes:
        if proc.start is None:
            continue
        policy = {k: v for k, v in proc.policy.items() if k != "log"}
        key = json.dumps([proc.run, proc.version, policy], sort_keys=True)
        group = groups.setdefault(key, {"run": proc.run, "version": proc.version,
                                        "policy": policy, "hosts": [], "argv": [],
                                        "pids": [], "ranks": []})
        _add_new(group["hosts"], proc.host)
        _add_new(group["argv"], proc.argv)
        group["pids"].append(proc.pid)
        _add_new(group["ranks"], proc.rank)
    return list(groups.values())


def _add_new(values, value):
    if value is not None and value not in values:
        values.append(value)


finding_time = sitemod.finding_time


def _finding_order(item):
    proc, rec = item
    t, _ = finding_time(rec)
    return (t is None, t or 0, whole(rec.get("seq")) or 0, proc.log, rec["_line"])


def _firsts(processes):
    """Each process's earliest finding, as (process, record), earliest first."""
    return sorted((min(((p, r) for r in p.nonfinite), key=_finding_order)
                   for p in processes if p.nonfinite), key=_finding_order)


def _site_of(proc, rec):
    """The finding's site record ({} when none), and its Python frames."""
    site = proc.sites.get(site_id(rec, "site_id")) or {}
    return site, sitemod.frames(rec.get("site")) or sitemod.frames(site.get("site"))


def first_nonfinite(processes):
    """The earliest finding over all processes, ordered by call_t (else t)."""
    firsts = _firsts(processes)
    if not firsts:
        return None
    proc, rec = firsts[0]
    site, frames = _site_of(proc, rec)
    event = {key: rec.get(key) for key in FINDING_FIELDS}
    event["thread"] = rec.get("thread", rec.get("tid"))
    event["site"] = frames
    event["backtrace"] = site.get("backtrace") if isinstance(site.get("backtrace"), list) else None
    event["site_action"] = site.get("action")
    event["inputs_meaning"] = inputs_meaning(rec)
    event["time"], event["time_from"] = finding_time(rec)
    event.update(pid=proc.pid, rank=proc.rank, host=proc.host, log=proc.log, line=rec["_line"])
    return event


def inputs_verdict(rec):
    """created (its inputs were finite), received (they were not) or None."""
    finite = rec.get("inputs_finite")
    return "created" if finite is True else "received" if finite is False else None


def first_by_process(processes):
    """Each process's earliest finding, earliest first. Ranks of a job pass
    an Inf/NaN on to each other (an all-reduce the shim does not see), and
    each host orders by its own clock: whose inputs were finite tells where
    it began when the clocks cannot."""
    rows = []
    for proc, rec in _firsts(processes):
        t, t_from = finding_time(rec)
        rows.append({
            "pid": proc.pid, "rank": proc.rank, "host": proc.host, "api": rec.get("api"),
            "seq": rec.get("seq"), "time": t, "time_from": t_from,
            "inputs_finite": rec.get("inputs_finite"), "inputs": inputs_verdict(rec),
            "site": _site_of(proc, rec)[1], "caller": rec.get("caller"),
            "findings": len(proc.nonfinite), "log": proc.log, "line": rec["_line"],
        })
    return rows


def policy_effect(processes):
    """Per api: calls, upcasts, checked, nonfinite. From each process's summary
    record; a process that has none (crashed) from its call-site counts; a
    process with neither (vanished) is listed as uncounted."""
    apis, checks, site_counters = {}, {}, {}
    from_summary, from_sites, uncounted = [], [], []
    for proc in processes:
        summary = proc.summary or {}
        if isinstance(summary.get("apis"), dict):
            _add_apis(apis, summary["apis"].items())
            _add_numbers(checks, summary.get("checks"))
            _add_numbers(site_counters, summary.get("sites"))
            from_summary.append(proc.pid)
        elif proc.counts:
            _add_apis(apis, _apis_from_sites(proc))
            from_sites.append(proc.pid)
        else:
            uncounted.append(proc.pid)
    ordered = dict(sorted(apis.items(), key=lambda kv: (-kv[1]["calls"], kv[0])))
    coverage = [{"counter": name, "value": counters[name], "meaning": meaning}
                for counters, table in ((checks, COVERAGE), (site_counters, SITE_COVERAGE))
                for name, meaning in table if counters.get(name)]
    return {"apis": ordered, "checks": checks, "sites": site_counters, "coverage": coverage,
            "from_summary": from_summary, "from_site_counts": from_sites,
            "uncounted": uncounted}


def _number(value):
    return whole(value) or 0


def _add_apis(apis, items):
    for api, counts in items:
        if not isinstance(counts, dict):
            continue
        total = apis.setdefault(api, {name: 0 for name in sitemod.COUNTS})
        for name in sitemod.COUNTS:
            total[name] += _number(counts.get(name))


def _add_numbers(into, values):
    if isinstance(values, dict):
        for name, value in values.items():
            into[name] = into.get(name, 0) + _number(value)


def _apis_from_sites(proc):
    per_api = {}
    for sid, counts in proc.counts.items():
        api = (proc.sites.get(sid) or {}).get("api")
        api = api if isinstance(api, str) else "unknown site %s" % sid
        total = per_api.setdefault(api, {name: 0 for name in sitemod.COUNTS})
        for name, value in zip(sitemod.COUNTS, counts):
            total[name] += value
    return per_api.items()


def shim_warnings(processes, limit=20):
    """Distinct warn/error messages of the shim, with how often and where."""
    seen = {}
    for proc in processes:
        for rec in proc.warnings:
            msg = rec.get("msg")
            if msg and not isinstance(msg, str):
                msg = json.dumps(msg)  # a key of `seen`: a list or object is not hashable
            msg = msg or "%s record (dropped %s)" % (rec["ev"], rec.get("dropped_ev"))
            entry = seen.setdefault(msg, {"ev": rec["ev"], "msg": msg, "count": 0, "pids": []})
            entry["count"] += 1
            _add_new(entry["pids"], proc.pid)
    return list(seen.values())[:limit]
