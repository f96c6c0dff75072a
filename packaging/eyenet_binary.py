"""The single executable's entry point (packaging/build-binary.sh): the `eyenet` command;
snmpsim's command responder when `eyenet demo` starts its lab with this same executable
(eyenet.demo.lab.snmpsim_argv); or the anomaly scans' child (eyenet.anomaly.scanner.scanner_argv)."""

import sys

from eyenet.anomaly.scanner import SCANNER_IN_BINARY
from eyenet.demo.lab import SNMPSIM_IN_BINARY

if __name__ == "__main__":
    if sys.argv[1:2] == [SNMPSIM_IN_BINARY]:
        from snmpsim.commands.responder import main as snmpsim

        sys.argv = [SNMPSIM_IN_BINARY, *sys.argv[2:]]
        sys.exit(snmpsim())
    if sys.argv[1:2] == [SCANNER_IN_BINARY]:
        from eyenet.anomaly.scanner import main as scanner

        sys.exit(scanner(sys.argv[2:]))
    from eyenet.cli import main

    sys.exit(main())
