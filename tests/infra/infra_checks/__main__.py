"""`python -m infra_checks fix`: rewrites every HCL file under infra/ in
canonical format and regenerates the modules' input and output tables."""

import sys

from . import formatting, hcl, readme
from .paths import relative


def main(argv: list[str]) -> int:
    if argv != ["fix"]:
        print("usage: python -m infra_checks fix", file=sys.stderr)
        return 2
    for file in formatting.rewrite(hcl.hcl_files()):
        print(f"formatted {relative(file)}")
    for file in readme.rewrite(hcl.load()):
        print(f"updated {relative(file)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
