"""Parses a Prometheus text exposition (stdin) with the reference client's
parser, prometheus_client.parser, which Gatehouse does not use; prints one
JSON object: {"families": {name: type}, "samples": [{name, labels, value}]}.

A malformed exposition makes the parser raise: the test then fails with
its message.
"""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main() -> None:
    text = sys.stdin.read()
    families = {}
    samples = []
    for family in text_string_to_metric_families(text):
        families[family.name] = family.type
        for sample in family.samples:
            samples.append(
                {"name": sample.name, "labels": dict(sample.labels), "value": sample.value}
            )
    json.dump({"families": families, "samples": samples}, sys.stdout)


if __name__ == "__main__":
    main()
