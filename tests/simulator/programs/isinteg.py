"""isinteg.exe of Exchange 2007 and 2010 (<install>\\Bin\\isinteg.exe): `#!simulator-program isinteg {"file_version": ...}`.

Facts (docs/databases.md, "isinteg"):
- Syntax `isinteg -s ServerName [-fix] [-verbose] [-l logfilename] -test testname[[, testname]...]`; used after an
  eseutil repair to fix the store's references at the application level (Exchange 2007 library, "Isinteg", bb125144).
- It works on a database the Information Store lists as Offline (dismounted) while the store runs; it lists the server's
  databases by number and asks which one, then for a confirmation (KB 301460 for Exchange 2000/2003: "Only databases
  marked as Offline can be checked"; the 2007 tool kept the interaction - lower confidence). The list layout and the
  messages below are modelled on those descriptions, marked (modelled).
- Exchange 2010 SP1 replaced it with New-MailboxRepairRequest; the file stays but no longer checks anything.
Exit code: 0 when the tests ran (or the user pressed Return at the prompt), 1 otherwise (modelled).
"""

from __future__ import annotations

from simulator.exchange import ese, store
from simulator.programs import ProcessContext, program

_NL = "\r\n"


@program("isinteg")
def isinteg(ctx: ProcessContext) -> int:
    version = str(ctx.args.get("file_version", "8.3.83.6"))
    parts = [int(x) for x in version.split(".")]
    ctx.out(f"Microsoft (R) Exchange Server Information Store Integrity Checker Version {parts[0]:02d}.{parts[1]:02d}.{parts[2]:04d}.{parts[3]:03d}{_NL}")
    ctx.out(f"Copyright (C) Microsoft Corporation 1986-2000 Microsoft Corp. All Rights Reserved.{_NL}{_NL}")
    if parts[0] == 14 and parts[1] >= 1:
        ctx.out(f"Isinteg is no longer used in this version; use the New-MailboxRepairRequest cmdlet (modelled).{_NL}")
        return 1
    args = [a.lower() for a in ctx.argv[1:]]
    if "-s" not in args or args.index("-s") + 1 >= len(args) or "-test" not in args or args.index("-test") + 1 >= len(args):
        ctx.out(f"Usage: isinteg -s ServerName [-fix] [-verbose] [-l logfilename] -test testname[[, testname]...]{_NL}")
        return 1
    server = ctx.argv[1 + args.index("-s") + 1].split(".")[0].upper()
    if server != ctx.host.name.upper():
        ctx.out(f"Unable to connect to server {server}: isinteg checks the databases of the server it runs on (modelled).{_NL}")
        return 1
    fix = "-fix" in args
    if not store.information_store_running(ctx.host):
        ctx.out(f"The Microsoft Exchange Information Store service must be running to list the databases (modelled).{_NL}")
        return 1
    org = store.organization(ctx.host)
    databases = (
        sorted((d for d in org.databases_of(ctx.host.name.upper())), key=lambda d: ((d.storage_group or "").casefold(), d.name.casefold())) if org else []
    )
    ctx.out(f"Databases for server {ctx.host.name.upper()}:{_NL}Only databases marked as Offline can be checked{_NL}{_NL}")
    ctx.out(f"Index  Status       Database-Name{_NL}")
    group = None
    for index, db in enumerate(databases, start=1):
        if db.storage_group and db.storage_group != group:
            group = db.storage_group
            ctx.out(f"Storage Group Name: {group}{_NL}")
        status = "Online" if store.is_mounted(ctx.host, db) else "Offline"
        ctx.out(f"  {index}    {status:<12} {db.name}{_NL}")
    ctx.out(f"Enter a number to select a database or press Return to exit.{_NL}")
    answers = ctx.stdin.splitlines()
    choice = answers[0].strip() if answers else ""
    if not choice:
        return 0
    if not choice.isdigit() or not 1 <= int(choice) <= len(databases):
        ctx.out(f"{choice} is not a valid selection (modelled).{_NL}")
        return 1
    db = databases[int(choice) - 1]
    ctx.out(f"You have selected {db.storage_group + ' / ' if db.storage_group else ''}{db.name}.{_NL}Continue?(Y/N)")
    confirm = answers[1].strip().lower() if len(answers) > 1 else ""
    if confirm != "y":
        ctx.out(f"{_NL}")
        return 0
    ctx.out(_NL)
    if store.is_mounted(ctx.host, db):
        ctx.out(f"The database {db.name} is Online: dismount it before it can be checked (modelled).{_NL}")
        return 1
    header = ese.read_database(ctx.host, db.edb_file_path)
    if header["state"] != ese.CLEAN:
        ctx.out(f"The database {db.name} is not in Clean Shutdown; recover or repair it first (modelled).{_NL}")
        return 1
    ctx.out(f"Test Categories: {'check and fix' if fix else 'check only'}{_NL}")
    ctx.sleep(5 + 30 * ctx.host.stat(db.edb_file_path).size / (1 << 30))
    ctx.out(f"Now in test 1(reference table construction) of total 20 tests; 100% complete.{_NL}")
    if fix:
        header["isinteg_fixed"] = True
        ese.write_database(ctx.host, db.edb_file_path, header)
    ctx.out(f"{_NL}Test result: 0 error(s); {'0 warning(s); 0 fix(es)' if not header.get('repaired_with_loss') else '0 warning(s); 3 fix(es)'}{_NL}")
    return 0
