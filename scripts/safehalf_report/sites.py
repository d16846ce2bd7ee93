"""Call sites: where calls came from, with their counts.

A call site, as the shim defines it, is the Python stack (or the native
caller when there is none) + api + shape + types + compute used; its ids are
per process. Here each process's sites get their counts (from `counts`
records; a process killed before writing any has lower bounds only), and
sites are then merged across processes when where, api, shape and types are
equal. Findings whose log has no site records (older shims) make sites of
their own from the nonfinite record's fields and caller.
"""

import json

from .processes import real, site_id, whole

SHAPE = ("m", "n", "k", "batch")
TYPES = ("atype", "btype", "ctype", "compute", "compute_used")
COUNTS = ("calls", "upcasts", "checked", "nonfinite")


def frames(value):
    """A site's frame list [{"file", "line", "func"}], or None."""
    if not isinstance(value, list) or not value:
        return None
    return [f for f in value if isinstance(f, dict)] or None


def where_key(site_frames, caller):
    if site_frames:
        return ("python",) + tuple((f.get("file"), f.get("line"), f.get("func"))
                                   for f in site_frames)
    caller = caller if isinstance(caller, dict) else {}
    if caller.get("object"):
        return ("native", caller.get("object"), caller.get("offset"))
    return ("address", caller.get("address"))


def _describe(rec):
    row = {key: rec.get(key) for key in ("api",) + SHAPE + TYPES}
    row["action"] = rec.get("action") if rec.get("ev") == "site" else None
    row["site"] = frames(rec.get("site"))
    row["caller"] = rec.get("caller") if isinstance(rec.get("caller"), dict) else None
    return row


def _key(row):
    """What makes two sites one, as a string (the values may be of any JSON type)."""
    fields = [where_key(row["site"], row["caller"]), row["api"]]
    fields += [row[k] for k in SHAPE + TYPES if k != "compute"]
    return json.dumps(fields, sort_keys=True, default=str)


def finding_time(rec):
    """(seconds, "call_t" or "t"): when the call was made, when the record
    says; else when the finding was written. A finding inside a CUDA graph
    came from one of its replays, but its call_t is when the graph was
    captured (maybe thousands of steps before): the record's t, soon after
    the replay, orders it."""
    keys = ("t",) if rec.get("captured") is True else ("call_t", "t")
    for key in keys:
        if real(rec.get(key)) is not None:
            return rec[key], key
    return None, None


def _time(rec):
    return finding_time(rec)[0]


def process_sites(proc):
    """This process's sites as rows: description + counts + "exact"."""
    by_id, loose = {}, {}
    for sid, rec in proc.sites.items():
        row = _describe(rec)
        row.update(first_seq=whole(rec.get("seq")), ids=[sid], findings=[])
        by_id[sid] = row
    for rec in proc.nonfinite:
        row = by_id.get(site_id(rec, "site_id"))
        if row is None:
            row = _loose_row(loose, rec)
        row["findings"].append(rec)
    rows = list(by_id.values()) + list(loose.values())
    for row in rows:
        _count(row, proc)
    return rows


def _loose_row(loose, rec):
    """A site made from a finding that names no known site."""
    row = _describe(rec)
    key = _key(row)
    if key not in loose:
        row.update(first_seq=None, ids=[site_id(rec, "site_id")], findings=[])
        loose[key] = row
    return loose[key]


def _count(row, proc):
    known = [proc.counts[i] for i in row["ids"] if i in proc.counts]
    findings = row["findings"]
    # What the log proves.
    n = len(findings)
    proven = {"calls": max(1, n) if row["first_seq"] is not None else n,
              "checked": n, "nonfinite": n}
    proven["upcasts"] = proven["calls"] if row["action"] == "upcast" else 0
    if known:
        for name, index in zip(COUNTS, range(4)):
            row[name] = sum(c[index] for c in known)
        row["exact"] = proc.counts_final
        if not row["exact"]:
            # The counts of a signal it survived, then it vanished: the
            # calls after them are not in them.
            for name in COUNTS:
                row[name] = max(row[name], proven[name])
    else:
        # No counts record (killed, or an older shim).
        row.update(proven)
        row["exact"] = False
    seqs = [f["seq"] for f in findings if whole(f.get("seq")) is not None]
    row["first_nonfinite_seq"] = min(seqs) if seqs else None
    times = [t for t in (_time(f) for f in findings) if t is not None]
    row["first_nonfinite_t"] = min(times) if times else None
    row["pids"] = [proc.pid]
    row["ranks"] = [proc.rank] if proc.rank is not None else []


def merged_sites(processes):
    """Sites of all processes, merged when where, api, shape and types are
    equal; sites with findings first (earliest finding first), then by calls."""
    merged = {}
    for proc in processes:
        for row in process_sites(proc):
            key = _key(row)
            if key in merged:
                _merge(merged[key], row)
            else:
                merged[key] = row
    rows = list(merged.values())
    rows.sort(key=_order)
    return [_public(r) for r in rows]


def _order(row):
    t = row["first_nonfinite_t"]
    return (row["nonfinite"] == 0, t if t is not None else float("inf"), -row["calls"])


def _merge(into, row):
    for name in COUNTS:
        into[name] += row[name]
    into["exact"] = into["exact"] and row["exact"]
    into["first_seq"] = _min(into["first_seq"], row["first_seq"])
    into["first_nonfinite_seq"] = _min(into["first_nonfinite_seq"], row["first_nonfinite_seq"])
    into["first_nonfinite_t"] = _min(into["first_nonfinite_t"], row["first_nonfinite_t"])
    into["pids"] += row["pids"]
    into["ranks"] += row["ranks"]
    into["action"] = into["action"] or row["action"]


def _min(a, b):
    values = [v for v in (a, b) if v is not None]
    return min(values) if values else None


def _public(row):
    out = {key: row[key] for key in ("api",) + SHAPE + TYPES + ("action", "site", "caller")}
    out.update({name: row[name] for name in COUNTS})
    out["exact"] = row["exact"]
    out["first_seq"] = row["first_seq"]
    out["first_nonfinite_seq"] = row["first_nonfinite_seq"]
    out["processes"] = len(row["pids"])
    out["pids"] = row["pids"]
    out["ranks"] = sorted(set(row["ranks"]), key=lambda r: (isinstance(r, str), r))
    return out
