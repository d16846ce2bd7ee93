"""`safehalf [--check MODE] [--on-nonfinite ACTION] [--log PATH] [--follow-dlsym]
[--] CMD ARGS...`: run CMD with the shim preloaded (and its audit module in
LD_AUDIT with --follow-dlsym) and the policy set through the environment,
forward signals to it, then summarize this run's logs on stderr."""
import glob
import os
import re
import secrets
import shlex
import shutil
import signal
import sys
import time

from . import analysis, logfiles, processes, text

DEFAULT_LOG = "safehalf-%p.jsonl"
FORWARDED = frozenset([signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT])
# si_code of a signal the kernel generated: the terminal's ^C, ^\ or hangup,
# which reached the whole foreground process group, the child included.
SI_KERNEL = 0x80
SAY = "safehalf: "


class CommandError(Exception):
    """A reason not to run the command: exit status and one line."""

    def __init__(self, status, msg):
        Exception.__init__(self, msg)
        self.status = status
        self.msg = msg


def run(options, argv, version, shim_lib, prog):
    """Runs argv under the shim; returns safehalf's exit status."""
    shim = shim_path(shim_lib)
    env = child_environment(os.environ, options, shim)
    pattern = log_pattern(env)
    prepare_log_dir(pattern)
    path = resolve_command(argv[0], env.get("PATH", os.defpath))
    since = time.time() - 1.0
    status = run_child(path, argv, anchored_log(env))
    outcome, code = describe_status(status)
    for line in summary_lines(pattern, env["SAFEHALF_RUN_ID"], since, outcome, prog, version,
                              bool(getattr(options, "follow_dlsym", False))):
        print(SAY + line, file=sys.stderr)
    sys.stderr.flush()
    return code


# -- the environment --------------------------------------------------------------

def shim_path(configured):
    """The shim to preload: $SAFEHALF_LIB, else the one configured at build time."""
    override = os.environ.get("SAFEHALF_LIB")
    path = override or configured
    if not path:
        raise CommandError(2, "no shim library configured: set SAFEHALF_LIB to the path of "
                              "libsafehalf.so")
    if not os.path.isfile(path):
        if override:
            raise CommandError(2, "SAFEHALF_LIB=%s: no such file" % path)
        raise CommandError(2, "the shim library %s does not exist (set SAFEHALF_LIB to the "
                              "path of libsafehalf.so)" % path)
    return os.path.abspath(path)


def with_preload(current, shim):
    """LD_PRELOAD with the shim first and the user's libraries after it. Any
    other libsafehalf.so is dropped: two shims must never be loaded."""
    def is_shim(entry):
        return (entry == shim or os.path.basename(entry) == "libsafehalf.so"
                or os.path.realpath(entry) == os.path.realpath(shim))
    theirs = [e for e in re.split(r"[:\s]+", current or "") if e and not is_shim(e)]
    return ":".join([shim] + theirs)


AUDIT_NAME = "libsafehalf-audit.so"


def audit_path(shim):
    """The rtld-audit module beside the shim (they are built and installed
    together)."""
    path = os.path.join(os.path.dirname(shim), AUDIT_NAME)
    if not os.path.isfile(path):
        raise CommandError(2, "--follow-dlsym: %s is not beside the shim (%s)"
                              % (AUDIT_NAME, os.path.dirname(shim)))
    return path


def with_audit(current, module):
    """LD_AUDIT (a colon-separated list) with the module first and the
    user's auditors after it, without another copy of ours."""
    theirs = [e for e in (current or "").split(":")
              if e and os.path.basename(e) != AUDIT_NAME]
    return ":".join([module] + theirs)


def child_environment(environ, options, shim):
    env = dict(environ)
    for option, var in (("check", "SAFEHALF_CHECK"), ("on_nonfinite", "SAFEHALF_ON_NONFINITE"),
                        ("log", "SAFEHALF_LOG")):
        if getattr(options, option) is not None:
            env[var] = getattr(options, option)
    env["LD_PRELOAD"] = with_preload(env.get("LD_PRELOAD"), shim)
    if getattr(options, "follow_dlsym", False):
        env["LD_AUDIT"] = with_audit(env.get("LD_AUDIT"), audit_path(shim))
    if not env.get("SAFEHALF_LOG") and not config_setting(env, "SAFEHALF_LOG"):
        env["SAFEHALF_LOG"] = DEFAULT_LOG
    if not env.get("SAFEHALF_RUN_ID"):
        env["SAFEHALF_RUN_ID"] = new_run_id()
    return env


def anchored_log(env):
    """env for the program, its relative SAFEHALF_LOG made absolute: the shim
    opens the log at the first library call, from the program's working
    directory then, and a program may have changed it by then (Hydra runs in
    outputs/<date>/); the summary looks here. A % of the directory is %%."""
    log = log_pattern(env)  # the environment's, else the config file's (the environment wins)
    if log == "stderr" or os.path.isabs(log):
        return env
    child = dict(env)
    child["SAFEHALF_LOG"] = os.path.join(os.getcwd().replace("%", "%%"), log)
    return child


def new_run_id():
    """Letters, digits and - only, as the shim accepts (at most 64)."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(4)


def config_setting(env, name):
    """name's value in the SAFEHALF_CONFIG file, read as the shim reads it
    (KEY=VALUE lines, # comments, optional quotes); None if absent."""
    path = env.get("SAFEHALF_CONFIG")
    if not path:
        return None
    found = None
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, eq, val = line.strip().partition("=")
                if eq and not key.startswith("#") and key.strip() == name:
                    val = val.strip()
                    if len(val) >= 2 and val[0] in "\"'" and val[-1] == val[0]:
                        val = val[1:-1]
                    found = val
    except OSError:
        return None
    return found


def log_pattern(env):
    return env.get("SAFEHALF_LOG") or config_setting(env, "SAFEHALF_LOG") or DEFAULT_LOG


def log_glob(pattern):
    """The log pattern as a glob: %p, %r, %h match anything, %% is %."""
    out, i = [], 0
    while i < len(pattern):
        pair = pattern[i:i + 2]
        if pair in ("%p", "%r", "%h"):
            out.append("*")
            i += 2
        elif pair == "%%":
            out.append("%")
            i += 2
        else:
            out.append(glob.escape(pattern[i]))
            i += 1
    return "".join(out)


def prepare_log_dir(pattern):
    """Creates the log's directory when it names a fixed one that is missing
    (the shim does not create directories)."""
    directory = os.path.dirname(pattern)
    if pattern == "stderr" or not directory or "%" in directory or os.path.isdir(directory):
        return
    try:
        os.makedirs(directory)
    except OSError as e:
        print(SAY + "cannot create the log directory %s (%s): the shim will not be able to "
              "write its log" % (directory, e.strerror), file=sys.stderr)


# -- the child ----------------------------------------------------------------------

def resolve_command(name, search_path):
    """The file to execute, as a shell finds it; CommandError 127 (not
    found) or 126 (not executable) otherwise."""
    if "/" in name:
        candidates = [name]
    else:
        candidates = [os.path.join(d or ".", name) for d in search_path.split(":")]
    denied = None
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
        if denied is None and os.path.exists(path):
            denied = path
    if denied is not None:
        raise CommandError(126, "%s: permission denied (not an executable file)" % denied)
    if "/" in name:
        raise CommandError(127, "%s: no such file" % name)
    raise CommandError(127, "%s: command not found" % name)


def run_child(path, argv, env):
    """Starts the child in our process group and waits for it, forwarding
    SIGINT, SIGTERM, SIGHUP and SIGQUIT that were sent to safehalf alone. A
    signal from the terminal (^C) already reached the child: not sent twice.
    Returns the wait status."""
    watched = FORWARDED | {signal.SIGCHLD}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    try:
        try:
            pid = os.posix_spawn(path, argv, env, setsigmask=previous,
                                 setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))
        except OSError as e:
            raise CommandError(126, "%s: cannot run: %s" % (argv[0], e.strerror))
        status = wait_forwarding(pid, watched)
        while signal.sigtimedwait(watched, 0) is not None:
            pass  # what arrived as the child ended was for it, not for us
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return status


def wait_forwarding(pid, watched):
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return status
        info = signal.sigtimedwait(watched, 0.5)
        if info is not None and info.si_signo in FORWARDED and info.si_code != SI_KERNEL:
            try:
                os.kill(pid, info.si_signo)
            except ProcessLookupError:
                pass


def describe_status(status):
    """(the command's fate in words, safehalf's exit status)."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return ("the command was killed by %s (exit status 128 + %d = %d)"
                % (processes.signal_name(sig), sig, 128 + sig), 128 + sig)
    code = os.WEXITSTATUS(status)
    return "the command exited with status %d" % code, code


# -- after the run -------------------------------------------------------------------

def summary_lines(pattern, run_id, since, outcome, prog, version, follow_dlsym=False):
    head = ["---- summary of run %s ----" % run_id, outcome]
    if pattern == "stderr":
        return head + ["the log went to stderr (SAFEHALF_LOG=stderr): there is no log file to "
                       "summarize"]
    if "%" not in pattern and os.path.exists(pattern) and not os.path.isfile(pattern):
        return head + ["the log went to %s, which is not a regular file: there is no log file "
                       "to summarize" % pattern]
    # Regular files only: reading a FIFO or a terminal would wait forever.
    paths = sorted((p for p in glob.glob(log_glob(pattern)) if os.path.isfile(p)),
                   key=logfiles.natural_key)
    chosen, logs, notes, shared = load_run(paths, run_id, since, version)
    if not chosen:
        return head + ["no log of this run matches %s: the program made no cuBLAS call, or "
                       "the shim was not loaded (a statically linked cuBLAS, a program that "
                       "clears LD_PRELOAD), or SAFEHALF_MODE=off" % pattern] + (
            [] if follow_dlsym else
            ["a program that looks cuBLAS/cuDNN up with dlsym on its own handle (JAX/XLA, "
             "TensorFlow) is reached with --follow-dlsym"])
    doc = analysis.build(chosen, logs, notes, version, symbolize="first")
    report = report_command(prog, logs, run_id, pattern, shared and any(p.run for p in chosen))
    return head + _notes(notes) + text.summary(doc, report)


def load_run(paths, run_id, since, version):
    """This run's processes among the logs that match the pattern: those
    whose start record carries run_id. Returns (processes, logs, messages,
    shared), shared being true when a chosen log also holds other runs."""
    chosen, logs, shared = [], [], False
    notes = logfiles.Messages(prefix=SAY)
    for path in paths:
        messages = logfiles.Messages()
        found, file_logs = processes.load([path], messages)
        mine = processes.select_run(found, run_id, since)
        if mine:
            shared = shared or len(mine) < len(found)
            chosen += mine
            logs += [dict(file_logs[0], processes=len(mine))]
            for item in messages.items:
                notes.add(item["msg"], item["file"], item["line"])
    processes.note_versions(chosen, version, notes)
    return chosen, logs, notes, shared


def _notes(notes, limit=5):
    lines = ["note: " + logfiles.Messages.format(item) for item in notes.items[:limit]]
    if len(notes.items) > limit:
        lines.append("note: %d more problems in the logs (see the report)"
                     % (len(notes.items) - limit))
    return lines


def report_command(prog, logs, run_id, pattern, need_run):
    """The exact command line that prints this run's full report."""
    paths = [log["path"] for log in logs]
    if len(paths) > 6 and run_id:
        args, need_run = [log_glob(pattern)], True
    else:
        args = paths
    words = [prog, "report"] + args + (["--run", run_id] if need_run else [])
    return " ".join(shlex.quote(w) for w in words)


def program_name(argv0):
    """How to name this command in the report line: "safehalf" when that is
    what PATH finds, else the path it was run as."""
    found = shutil.which("safehalf")
    if found and os.path.realpath(found) == os.path.realpath(argv0):
        return "safehalf"
    return argv0 if "/" not in argv0 else os.path.abspath(argv0)
