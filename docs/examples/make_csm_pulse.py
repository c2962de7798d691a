"""Writes sample_data/csm_pulse/part-0.parquet: a CSM's own read of the
account (docs/pipeline.md, "A CSM's judgement as a measure").

One row per pulse: customer_id, date (the day the CSM recorded it),
sentiment 1-5 (1 = about to leave, 5 = champion) and a short note. About
seven accounts in ten have one to three pulses over the 200 days before the
as-of date, so some pulses are stale (older than 90 days). Accounts that
churn (sample_data/churn_labels) are read more pessimistically by their
CSM, as a CSM who knows the account would. Deterministic: the same sample
data gives the same bytes.

    .venv/bin/python docs/examples/make_csm_pulse.py sample_data 2026-11-24
"""
import datetime
import os
import random
import sys

import pyarrow as pa
import pyarrow.parquet as pq

NOTES = {
    1: "asked about cancellation terms",
    2: "sponsor left; usage down",
    3: "steady, no expansion talk",
    4: "happy with support; renewal likely",
    5: "executive sponsor confirmed; expansion planned",
}


def main(sample, as_of):
    d = datetime.date.fromisoformat(as_of)
    ids = pq.read_table(os.path.join(sample, "accounts"), columns=["customer_id"]).column(0).to_pylist()
    churners = set(pq.read_table(os.path.join(sample, "churn_labels"), columns=["customer_id"]).column(0).to_pylist())
    rng = random.Random(7)
    rows = {"customer_id": [], "date": [], "sentiment": [], "note": []}
    for cid in sorted(i for i in ids if i is not None):
        if rng.random() >= 0.7:
            continue
        for _ in range(rng.randint(1, 3)):
            if cid in churners:
                sentiment = rng.choice([1, 1, 2, 2, 3, 4])
            else:
                sentiment = rng.choice([2, 3, 3, 4, 4, 5, 5])
            rows["customer_id"].append(cid)
            rows["date"].append(d - datetime.timedelta(days=rng.randint(0, 200)))
            rows["sentiment"].append(sentiment)
            rows["note"].append(NOTES[sentiment])
    table = pa.table(
        rows,
        schema=pa.schema(
            [("customer_id", pa.string()), ("date", pa.date32()), ("sentiment", pa.int64()), ("note", pa.string())]
        ),
    )
    out = os.path.join(sample, "csm_pulse")
    os.makedirs(out, exist_ok=True)
    pq.write_table(table, os.path.join(out, "part-0.parquet"), compression="zstd")
    print(f"csm_pulse: {table.num_rows} pulses for {len(set(rows['customer_id']))} accounts")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
