#!/usr/bin/env python3
"""Chooses the best of a sweep's training runs (device-sweep.sh): the highest teacher-forced
validation accuracy in its train_log.jsonl, ties broken by the validation's two_hop cells (the
task the sweeps are about), then by the run's order. Prints JSON: every run's validation,
per-cell validation and greedy evaluation summary, and the chosen run's name.

    python3 tools/train/pick_run.py OUT_DIR NAME [NAME ...]
"""
import json
import os
import sys


def last_event(path, event):
    found = None
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                if record.get("event") == event:
                    found = record
    return found


def cell_share(cells, task):
    hit = n = 0
    for key, value in cells.items():
        if key.split("@")[0] == task:
            h, m = value.split("/")
            hit, n = hit + int(h), n + int(m)
    return hit / n if n else 0.0


def main():
    out, names = sys.argv[1], sys.argv[2:]
    runs = []
    for order, name in enumerate(names):
        validation = last_event(os.path.join(out, name, "train_log.jsonl"), "validation")
        greedy = last_event(os.path.join(out, name, "train_log.jsonl"), "greedy_eval")
        trained = last_event(os.path.join(out, name, "train_log.jsonl"), "trained")
        runs.append({
            "name": name,
            "order": order,
            "validation": validation["accuracy"] if validation else None,
            "validation_two_hop": round(cell_share(validation["cells"], "two_hop"), 4) if validation else None,
            "validation_cells": validation["cells"] if validation else None,
            "greedy_overall": greedy["overall"] if greedy else None,
            "greedy_by_length": greedy["by_length"] if greedy else None,
            "greedy_cells": greedy["cells"] if greedy else None,
            "steps": trained["steps"] if trained else None,
        })
    finished = [r for r in runs if r["validation"] is not None]
    if not finished:
        sys.exit("pick_run.py: no run reached its validation")
    chosen = max(finished, key=lambda r: (r["validation"], r["validation_two_hop"], -r["order"]))
    json.dump({"chosen": chosen["name"], "runs": runs}, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
