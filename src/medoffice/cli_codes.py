"""The arguments of `medoffice codes ...`, shared by cli.py (which parses them before Django is
set up, so this module imports nothing) and the `codes` management command."""

from __future__ import annotations

import argparse


def add_release_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--label", default="", help="the release's name, e.g. '2024 Q3' "
                        "(default: from the file's name)")  # fmt: skip
    parser.add_argument("--effective", default="", metavar="YYYY-MM-DD",
                        help="the day the release takes effect (default: from the file's name)")  # fmt: skip


def add_codes_arguments(sub: argparse._SubParsersAction) -> None:
    """The subcommands, shared by `medoffice codes` (cli.py) and this management command."""
    hcpcs = sub.add_parser("import-hcpcs", help="load HCPCS Level II from CMS's file (needs --as)")
    hcpcs.add_argument("file")
    add_release_options(hcpcs)
    cpt = sub.add_parser(
        "import-cpt", help="load CPT from the practice's licensed file (needs --as)"
    )
    cpt.add_argument("file")
    cpt.add_argument("--map", required=True, dest="column_map", metavar="MAP",
                     help="which columns hold what: code=COL,short=COL[,long=COL,effective=COL,"
                     "termination=COL]")  # fmt: skip
    add_release_options(cpt)
    ncci = sub.add_parser(
        "import-ncci", help="load an NCCI edit table from CMS's file (needs --as)"
    )
    ncci.add_argument("table", choices=["ptp", "mue", "add-on"])
    ncci.add_argument("file")
    add_release_options(ncci)
    mpfs = sub.add_parser(
        "import-mpfs", help="load MPFS RVUs or GPCIs from CMS's file (needs --as)"
    )
    mpfs.add_argument("table", choices=["rvu", "gpci"])
    mpfs.add_argument("file")
    add_release_options(mpfs)
    pos = sub.add_parser("import-pos", help="load CMS's places of service (needs --as)")
    pos.add_argument("file")
    sub.add_parser("load-defaults", help="load the shipped HCPCS, places of service, modifiers, "
                   "2024 NCCI and MPFS tables not yet loaded (needs --as)")  # fmt: skip
    search = sub.add_parser("search", help="find ICD-10-CM and procedure codes")
    search.add_argument("text", nargs="+")
    which = search.add_mutually_exclusive_group()
    which.add_argument("--icd10", action="store_true", help="only ICD-10-CM")
    which.add_argument("--procedure", action="store_true", help="only CPT/HCPCS")
    search.add_argument("--limit", type=int, default=20)


def codes_argv(args: argparse.Namespace, action: str) -> list[str]:
    """The parsed arguments back as a command line for the management command."""
    argv = [action]
    for name in ("table", "file"):
        if getattr(args, name, None):
            argv.append(getattr(args, name))
    if getattr(args, "column_map", None):
        argv += ["--map", args.column_map]
    for name in ("label", "effective"):
        if getattr(args, name, None):
            argv += [f"--{name}", getattr(args, name)]
    if action == "search":
        argv += list(args.text)
        argv += ["--limit", str(args.limit)]
        argv += ["--icd10"] if args.icd10 else ["--procedure"] if args.procedure else []
    return argv
