"""Compare two demo runs (tools/demo.sh) on everything but timings.

Exit 0 when both runs logged the same losses and search values, derived the
same architecture and report the same nets and top-1; exit 1 otherwise
(see ``densenas_mm.experiments.demo_compare``).

Example:
    DEMO_LUT=docs/records/demo_lut_epyc_t1.json WORK_DIR=work_dirs/a make demo
    DEMO_LUT=docs/records/demo_lut_epyc_t1.json WORK_DIR=work_dirs/b make demo
    python tools/analysis/compare_demo_runs.py work_dirs/a work_dirs/b
"""
import argparse
import sys


def parse_args(argv=None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('before', help='one demo work dir')
    parser.add_argument('after', help='the other demo work dir')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Entry point."""
    args = parse_args(argv)
    from densenas_mm.experiments.demo_compare import compare_demo_runs
    same, lines = compare_demo_runs(args.before, args.after)
    print('\n'.join(lines))
    return 0 if same else 1


if __name__ == '__main__':
    sys.exit(main())
