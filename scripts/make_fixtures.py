#!/usr/bin/env python3
"""Builds kiln's test fixtures with the real frameworks and records their outputs as goldens.

Each module in scripts/fixtures/ exposes build(out_dir) and writes one or more fixtures under
out_dir/<fixture name>/. Usage: make_fixtures.py --out DIR [--only MODULE ...]
"""
import argparse
import importlib
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="directory the fixtures are written to")
    parser.add_argument("--only", nargs="*", help="fixture modules to build (default: all)")
    args = parser.parse_args()

    here = pathlib.Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    modules = sorted(p.stem for p in (here / "fixtures").glob("*.py") if not p.stem.startswith("_"))
    if args.only:
        unknown = set(args.only) - set(modules)
        if unknown:
            sys.exit(f"unknown fixture modules: {', '.join(sorted(unknown))}; have: {', '.join(modules)}")
        modules = args.only
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in modules:
        print(f"[fixtures] {name}", flush=True)
        importlib.import_module(f"fixtures.{name}").build(out)


if __name__ == "__main__":
    main()
