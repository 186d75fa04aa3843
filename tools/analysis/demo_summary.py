"""Summary table of the demo (tools/demo.sh): searched vs baseline nets.

Writes ``summary.txt`` (a table) and ``summary.json`` into the work dir from
what the demo steps wrote there (see ``densenas_mm.experiments.demo_summary``).

Example:
    python tools/analysis/demo_summary.py work_dirs/demo
"""
import argparse
import sys


def main(argv=None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir', help='the demo work dir')
    args = parser.parse_args(argv)
    from densenas_mm.experiments.demo_summary import write_summary
    print(write_summary(args.work_dir), end='')
    return 0


if __name__ == '__main__':
    sys.exit(main())
