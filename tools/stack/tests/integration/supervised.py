"""A tiny supervised run for the supervisor tests: ``supervised.py MODE STOP_TIMEOUT
NAME=COMMAND...``. MODE "fail" makes the readiness hook give up after a moment."""

import sys
import threading

from portcullis_stack.supervisor import Supervisor


def main() -> int:
    mode, stop_timeout, *children = sys.argv[1:]

    def on_started(sup: Supervisor) -> None:
        if mode == "fail":
            threading.Timer(0.5, sup.fail, args=("demo: not healthy",)).start()
        sup.say("hook ran", raw=True)

    pairs = [child.split("=", 1) for child in children]
    # Children stop in the order given, one phase each.
    sup = Supervisor(on_started, float(stop_timeout), [[name] for name, _ in pairs])
    for name, command in pairs:
        sup.add_process(name, command)
    sup.loop()
    return sup.exit_code()


if __name__ == "__main__":
    sys.exit(main())
