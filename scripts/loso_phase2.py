#!/usr/bin/env python3
"""Phase 2 of the DSADS leave-one-subject-out grid: once phase 1 (every unit at seed 0) is
done and `pim report` has chosen each method's variant on the validation subjects, give
the chosen variants every seed and shot count of the grid, keep the unchosen defaults at
seed 0, and add the task ablation of the chosen PIM (seed 0, 2/4/8 shots, the chosen
variant's overrides). The grid file is rewritten in place; `pim grid` accepts it over the
phase-1 output because it only adds cells (seeds, shot counts and arms).

    scripts/loso_phase2.py PIM_ARM MASKED_ARM TRANSFORM_ARM [GRID]
    e.g. scripts/loso_phase2.py pim-movement masked-transductive transform-probe
"""
import json
import sys

ABLATION = [["speed"], ["angle"], ["symmetry"], ["speed", "angle"], ["speed", "symmetry"], ["angle", "symmetry"]]


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    chosen = sys.argv[1:4]
    path = sys.argv[4] if len(sys.argv) == 5 else "configs/grid-dsads-loso.json"
    with open(path) as f:
        grid = json.load(f)
    arms = {arm["name"]: arm for arm in grid["arms"]}
    for name, method in zip(chosen, ["pim", "masked", "transform"]):
        if name not in arms or arms[name]["method"] != method:
            sys.exit(f"{name} is not a {method} arm of {path}")
    for arm in grid["arms"]:
        if arm["name"] in chosen:
            # The grid's own seeds and shot counts.
            arm.pop("seeds", None)
            arm.pop("shots", None)
        elif arm["method"] != "scratch" and "variant_of" not in arm:
            arm["seeds"] = [0]
    pim = arms[chosen[0]]
    for tasks in ABLATION:
        arm = {"name": "ablation-" + "+".join(tasks), "method": "pim", "tasks": tasks, "seeds": [0],
               "shots": [2, 4, 8], "table": "ablation"}
        if "overrides" in pim:
            arm["overrides"] = pim["overrides"]
        grid["arms"].append(arm)
    # One arm per line, as the committed file is laid out.
    lines = [f'  "{key}": {json.dumps(value)},' for key, value in grid.items() if key != "arms"]
    body = ",\n".join("    " + json.dumps(arm) for arm in grid["arms"])
    with open(path, "w") as f:
        f.write("{\n" + "\n".join(lines) + '\n  "arms": [\n' + body + "\n  ]\n}\n")


if __name__ == "__main__":
    main()
