"""How far the token estimator is from tiktoken on the dev corpus (``nox -s bench`` runs it).

Prints the error of ``EstimatingCounter`` against o200k_base over every compressible unit and over whole
request texts: mean absolute relative error, the 90th percentile and the signed total.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
from pathlib import Path

from headroom.engine.codecs import EXTRACTORS, detect_format
from headroom.engine.tokens import EstimatingCounter, get_token_counter
from headroom.proxy.config import DEFAULT_PASTED_TAGS, ProxyConfig

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "dev-cases.jsonl.gz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    exact = get_token_counter("o200k_base")
    if not exact.exact:
        print("token_estimator: no o200k_base file on disk (install litellm --no-deps); nothing to compare")
        return 0
    estimate = EstimatingCounter()
    errors: dict[str, list[float]] = {}
    totals = {"exact": 0, "estimate": 0}
    with gzip.open(args.corpus, "rt", encoding="utf-8") as fh:
        cases = [json.loads(line) for line in fh]
    for case in cases:
        fmt = detect_format(case["body"], case["path"])
        if fmt is None:
            continue
        for slot in EXTRACTORS[fmt](case["body"], DEFAULT_PASTED_TAGS, ProxyConfig().pasted_output_min_chars):
            true = exact.count(slot.text)
            if true < 50:
                continue
            guess = estimate.count(slot.text)
            totals["exact"] += true
            totals["estimate"] += guess
            errors.setdefault(case["kind"], []).append((guess - true) / true)
    print(f"{'kind':<12}{'units':>7}{'mean |err|':>12}{'p90 |err|':>11}{'mean err':>10}")
    for kind, errs in sorted(errors.items()):
        absolute = sorted(abs(e) for e in errs)
        p90 = absolute[int(0.9 * (len(absolute) - 1))]
        print(
            f"{kind:<12}{len(errs):>7}{statistics.mean(absolute):>11.1%}{p90:>11.1%}{statistics.mean(errs):>+10.1%}"
        )
    print(f"all units: estimate/exact token total = {totals['estimate'] / totals['exact']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
