"""The command line: `safehalf [options] [--] CMD ARGS...` and `safehalf report`."""
import argparse
import json
import os
import re
import sys

from . import analysis, command, logfiles, processes, text

USAGE = """\
safehalf [--check MODE] [--on-nonfinite ACTION] [--log PATH] [--follow-dlsym]
                [--] CMD [ARGS...]
       safehalf report LOG... [--json] [--run ID] [--no-addr2line]
       safehalf --help | --version"""

DESCRIPTION = """\
Runs CMD with libsafehalf.so preloaded (LD_PRELOAD, the shim first, the
user's own preloads kept after it), waits for it, and prints a summary of its
logs on stderr: how each process ended, the intercepted calls per api, the
first Inf/NaN found and the command that prints the full report.

The options set the shim's policy through the environment (other SAFEHALF_*
variables pass through untouched). Options end at the first word that is not
one, or at "--" (needed to run a program called "report").

  SAFEHALF_LIB     the shim to preload (default: the one built or installed
                   with this command)
  SAFEHALF_LOG     when neither it nor --log is set: safehalf-%p.jsonl in the
                   working directory
  SAFEHALF_RUN_ID  set to a fresh id unless already set; the summary reads
                   only the logs whose start record carries it

--follow-dlsym also puts libsafehalf-audit.so (beside the shim) first in
LD_AUDIT: programs that open cuBLAS/cuDNN themselves and look the entry
points up with dlsym on that handle (JAX/XLA, TensorFlow, cudnn-frontend's
dynamic loading) then reach the shim too.

Exit status: CMD's; 128 + N when CMD was killed by signal N (as a shell
reports it, e.g. 134 for SIGABRT); 127 when CMD is not found, 126 when it
cannot be executed; 2 for a bad option or a missing shim library.
SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to safehalf go to CMD (^C from the
terminal reaches CMD directly, once).

safehalf report LOG... reads logs (files, directories: their *.jsonl, or glob
patterns) and prints the runs, each process's end, the first non-finite
output (in call order over all processes) with its call site, a table of
call sites and what the policy changed. --json prints the same as one JSON
document; --run ID keeps the processes of that run only. Exit status 0, or
2 when no log is found."""

CHECK_VALUES = "off, all, every:N with N >= 1, sync"
ON_NONFINITE_VALUES = ("log", "saturate", "abort")


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line: "safehalf: error: ...", status 2."""

    def error(self, message):
        self.exit(2, "%s: error: %s\n" % (self.prog, message))


def check_mode(value):
    m = re.fullmatch(r"(off|all|sync)|every:(\d+)", value, re.IGNORECASE)
    if not m or (m.group(2) is not None and int(m.group(2)) < 1):
        raise argparse.ArgumentTypeError("invalid value %r (accepted: %s)" % (value, CHECK_VALUES))
    return value


def on_nonfinite(value):
    if value.lower() not in ON_NONFINITE_VALUES:
        raise argparse.ArgumentTypeError("invalid value %r (accepted: %s)"
                                         % (value, ", ".join(ON_NONFINITE_VALUES)))
    return value


def log_path(value):
    if not value:
        raise argparse.ArgumentTypeError("invalid value '' (accepted: a file path with "
                                         "optional %p, %r, %h, %%, or stderr)")
    return value


def run_parser(version):
    p = Parser(prog="safehalf", usage=USAGE, description=DESCRIPTION, allow_abbrev=False,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", metavar="MODE", type=check_mode,
                   help="SAFEHALF_CHECK: " + CHECK_VALUES)
    p.add_argument("--on-nonfinite", metavar="ACTION", type=on_nonfinite,
                   help="SAFEHALF_ON_NONFINITE: log, saturate, abort")
    p.add_argument("--log", metavar="PATH", type=log_path,
                   help="SAFEHALF_LOG: a path (%%p pid, %%r rank, %%h host, %%%% a percent "
                        "sign) or stderr")
    p.add_argument("--follow-dlsym", action="store_true",
                   help="also intercept the cuBLAS, cuBLASLt and cuDNN entry points the "
                        "program looks up with dlsym on its own handle (JAX/XLA, TensorFlow): "
                        "adds libsafehalf-audit.so to LD_AUDIT")
    p.add_argument("--version", action="version", version="safehalf %s" % (version or "unknown"))
    return p


def report_parser():
    p = Parser(prog="safehalf report", allow_abbrev=False,
               description="Reads safehalf logs and reports where Inf/NaN first appeared.")
    p.add_argument("logs", nargs="+", metavar="LOG",
                   help="a log file, a directory (its *.jsonl) or a glob pattern")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("--run", metavar="ID", help="only the processes of run ID")
    p.add_argument("--no-addr2line", action="store_true",
                   help="leave native call sites as object+offset")
    return p


VALUED = ("--check", "--on-nonfinite", "--log")


def split_options(args):
    """(safehalf's options, the command): options end at "--" or at the
    first word that is not an option."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return args[:i], args[i + 1:]
        if not arg.startswith("-") or arg == "-":
            break
        i += 2 if arg in VALUED else 1
    return args[:i], args[i:]


def main(args, version, shim_lib):
    try:
        if args[:1] == ["report"]:
            return report_main(args[1:], version)
        return run_main(args, version, shim_lib)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`safehalf report --json LOG | head`): what it
        # read was all it wanted. Python's own flush at exit would fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def run_main(args, version, shim_lib):
    parser = run_parser(version)
    opts, cmd = split_options(args)
    options = parser.parse_args(opts)
    if not cmd:
        parser.error("no command given (usage: safehalf [options] [--] CMD [ARGS...])")
    try:
        return command.run(options, cmd, version, shim_lib, command.program_name(sys.argv[0]))
    except command.CommandError as e:
        print("safehalf: error: %s" % e.msg, file=sys.stderr)
        return e.status


def only_run(found, logs, run_id):
    """The processes of run_id, and the logs that hold them."""
    found = [p for p in found if p.run == run_id]
    per_log = {}
    for proc in found:
        per_log[proc.log] = per_log.get(proc.log, 0) + 1
    logs = [dict(log, processes=per_log[log["path"]]) for log in logs if log["path"] in per_log]
    return found, logs


def report_main(args, version):
    options = report_parser().parse_args(args)
    messages = logfiles.stderr_messages("safehalf report: ")
    paths = logfiles.expand_log_args(options.logs, messages)
    found, logs = processes.load(paths, messages)
    if options.run is not None:
        found, logs = only_run(found, logs, options.run)
    if not found:
        why = "no process of run %s in them" % options.run if paths and options.run else \
            "every log is empty" if paths else "no file matched"
        print("safehalf report: error: no log found (%s)" % why, file=sys.stderr)
        return 2
    processes.note_versions(found, version, messages)
    doc = analysis.build(found, logs, messages, version,
                         symbolize=None if options.no_addr2line else "all")
    if options.json:
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        write_text(text.report(doc))
    return 0


def write_text(out):
    """The text report on stdout. A character stdout cannot encode (a lone
    surrogate escaped in a damaged log, a non-ASCII path under an ASCII
    locale) is written escaped instead of ending the report in a traceback."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)  # not on a StringIO
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")
    sys.stdout.write(out)
