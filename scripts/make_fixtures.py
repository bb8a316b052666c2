#!/usr/bin/env python3
"""Builds kiln's test fixtures with the real frameworks and records their outputs as goldens.

Each module in scripts/fixtures/ exposes build(out_dir) and writes one or more fixtures under
out_dir/<fixture name>/. Each module runs in its own Python process: TensorFlow and PyTorch
each bring their own LLVM, and the two cannot be loaded into one process.
Usage: make_fixtures.py --out DIR [--only MODULE ...]
"""
import argparse
import importlib
import os
import pathlib
import subprocess
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
    if len(modules) == 1:
        print(f"[fixtures] {modules[0]}", flush=True)
        importlib.import_module(f"fixtures.{modules[0]}").build(out)
        return
    for name in modules:
        subprocess.run([sys.executable, __file__, "--out", str(out), "--only", name], check=True)


if __name__ == "__main__":
    main()
