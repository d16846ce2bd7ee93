"""Native call sites (object + offset) to source lines, through addr2line.

The shim writes a native caller as the path of the loaded object, the offset
of the return address from the start of the object's mapping and the
object's GNU build-id. Here the file at that path is read when it is still
there and has the same build-id (a file rebuilt since the run would give
lines it no longer has), the offset becomes the address addr2line expects,
and one addr2line per object resolves all of that object's addresses. A
caller that resolves gets "source": {"file", "line", "func", "inlined_into"}
(each null when unknown); any other is left as it was.
"""
import os
import re
import shutil
import struct
import subprocess

# addr2line on a large object (libtorch_cuda.so is over a gigabyte) reads
# its symbols first: bounded, so that a report never hangs on one.
TIMEOUT_S = 30
PT_LOAD, PT_NOTE, NT_GNU_BUILD_ID = 1, 4, 3
ADDRESS = re.compile(r"^0x[0-9a-fA-F]+$")
LOCATION = re.compile(r"^(.*):(\d+|\?)(?: \(discriminator \d+\))?$")


def _notes(blob, align, end):
    """(type, name, desc) of each note in blob."""
    at = 0
    while at + 12 <= len(blob):
        namesz, descsz, ntype = struct.unpack_from(end + "III", blob, at)
        at += 12
        name_end = at + namesz
        desc_at = at + (namesz + align - 1) // align * align
        desc_end = desc_at + descsz
        if desc_end > len(blob):
            return
        yield ntype, blob[at:name_end], blob[desc_at:desc_end]
        at = desc_at + (descsz + align - 1) // align * align


def elf_facts(path):
    """(mapping base, build-id hex or None) of the ELF file at path: the
    base is the first loadable segment's address, where the loader starts
    the object's mapping. None when the file is not a readable ELF file."""
    try:
        with open(path, "rb") as f:
            ident = f.read(64)
            if len(ident) < 64 or ident[:4] != b"\x7fELF" or ident[4] not in (1, 2):
                return None
            end = "<" if ident[5] == 1 else ">"
            wide = ident[4] == 2
            if wide:
                phoff, = struct.unpack_from(end + "Q", ident, 32)
                phentsize, phnum = struct.unpack_from(end + "HH", ident, 54)
                phdr = end + "IIQQQQQQ"  # type flags offset vaddr paddr filesz memsz align
            else:
                phoff, = struct.unpack_from(end + "I", ident, 28)
                phentsize, phnum = struct.unpack_from(end + "HH", ident, 42)
                phdr = end + "IIIIIIII"  # type offset vaddr paddr filesz memsz flags align
            if phentsize < struct.calcsize(phdr):
                return None
            f.seek(phoff)
            table = f.read(phentsize * phnum)
            base, build_id, notes = None, None, []
            for i in range(min(phnum, len(table) // phentsize)):
                h = struct.unpack_from(phdr, table, i * phentsize)
                if wide:
                    ptype, offset, vaddr, filesz, align = h[0], h[2], h[3], h[5], h[7]
                else:
                    ptype, offset, vaddr, filesz, align = h[0], h[1], h[2], h[4], h[7]
                if ptype == PT_LOAD and base is None:
                    base = vaddr & ~0xFFF
                elif ptype == PT_NOTE and filesz < 1 << 20:
                    notes.append((offset, filesz, 8 if align == 8 else 4))
            for offset, filesz, align in notes:
                f.seek(offset)
                for ntype, name, desc in _notes(f.read(filesz), align, end):
                    if ntype == NT_GNU_BUILD_ID and name == b"GNU\0" and desc:
                        build_id = desc.hex()
                        break
                if build_id:
                    break
    except (OSError, struct.error):
        return None
    return None if base is None else (base, build_id)


def _source(pairs):
    """A resolved address from addr2line's (function, location) pairs,
    innermost first; None when nothing is known."""
    func, loc = pairs[0]
    m = LOCATION.match(loc)
    path = m.group(1) if m else None
    line = int(m.group(2)) if m and m.group(2).isdigit() else None
    src = {
        "file": os.path.normpath(path) if path and path != "??" else None,
        "line": line if line else None,
        "func": func if func != "??" else None,
        "inlined_into": pairs[-1][0] if len(pairs) > 1 and pairs[-1][0] != "??" else None,
    }
    return src if src["file"] or src["func"] else None


def parse_addr2line(out):
    """addr2line -a -f -i output: {address: [(function, location), ...]}."""
    groups, current = {}, None
    lines = out.splitlines()
    i = 0
    while i < len(lines):
        if ADDRESS.match(lines[i]):
            current = groups.setdefault(int(lines[i], 16), [])
            i += 1
        elif current is not None and i + 1 < len(lines):
            current.append((lines[i], lines[i + 1]))
            i += 2
        else:
            i += 1
    return groups


def _callers(node, into):
    """Every native caller (a dict with an object and an offset) under node."""
    if isinstance(node, dict):
        if isinstance(node.get("object"), str) and isinstance(node.get("offset"), str):
            into.append(node)
        for v in node.values():
            _callers(v, into)
    elif isinstance(node, list):
        for v in node:
            _callers(v, into)
    return into


def resolve(doc, messages, first_only=False, timeout=TIMEOUT_S, tool=None):
    """Adds "source" to the native callers of the report document: those of
    its first finding only, or those of its findings and call sites."""
    parts = [doc.get("first_nonfinite")]
    if not first_only:
        parts += [doc.get("first_by_process"), doc.get("sites")]
    per_object = {}
    for caller in _callers(parts, []):
        try:
            offset = int(caller["offset"], 16)
        except ValueError:
            continue
        per_object.setdefault(caller["object"], []).append((caller, offset))
    tool = tool or shutil.which("addr2line")
    for path, callers in sorted(per_object.items()):
        facts = elf_facts(path) if os.path.isfile(path) else None
        if facts is None:
            continue  # gone since the run, or not an ELF file: nothing to read
        base, build_id = facts
        logged = {c.get("build_id") for c, _ in callers if c.get("build_id")}
        if logged and logged != {build_id}:
            messages.add("%s is not the file that ran (its build-id differs from the log's): "
                         "its call sites stay object+offset" % path, once=("rebuilt", path))
            continue
        if not tool:
            messages.add("native call sites stay object+offset: addr2line (GNU binutils) "
                         "is not on PATH", once="no addr2line")
            return
        # A return address is the instruction after the call: one byte back
        # is inside the call, on its line.
        addrs = sorted({base + off - 1 for _, off in callers if off > 0})
        try:
            run = subprocess.run([tool, "-a", "-f", "-C", "-i", "-e", path] +
                                 ["0x%x" % a for a in addrs], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, universal_newlines=True,
                                 errors="replace", timeout=timeout)
        except subprocess.TimeoutExpired:
            messages.add("addr2line took longer than %d s on %s: its call sites stay "
                         "object+offset" % (timeout, path), once=("slow", path))
            continue
        except OSError as e:
            messages.add("cannot run %s (%s): native call sites stay object+offset" %
                         (tool, e.strerror), once="no addr2line")
            return
        groups = parse_addr2line(run.stdout)
        for caller, off in callers:
            pairs = groups.get(base + off - 1)
            src = _source(pairs) if pairs else None
            if src:
                caller["source"] = src
