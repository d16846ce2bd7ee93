"""The safehalf command and its report, standard library only (Python 3.8+).

    logfiles  finding log files and reading their JSON Lines records
    processes grouping records into processes (host, pid, start record)
    sites     call sites: per process, then merged across processes
    analysis  the report as one document (what --json prints)
    text      the report as text, and the command's short summary
    command   running a program under the shim
    cli       the command line of both
"""
