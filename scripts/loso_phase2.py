#!/usr/bin/env python3
"""Phase 2 of the DSADS leave-one-subject-out grid: once phase 1 (every unit at seed 0) is
done and `pim report` has chosen each method's variant on the validation subjects, give
the chosen variants every seed and shot count of the grid, keep the unchosen defaults at
seed 0, and add the task ablation of the chosen PIM (seed 0, 2/4/8 shots, the chosen
variant's overrides). Where a chosen baseline is transductive, name after the three the
best inductive candidate the report lists beside it: it gets every seed and shot count
too, so that PIM is compared with it over the same cells. The grid file is rewritten in
place; `pim grid` accepts it over the phase-1 output because it only adds cells (seeds,
shot counts and arms). Running it again on its own output adds nothing twice.

    scripts/loso_phase2.py PIM_ARM MASKED_ARM TRANSFORM_ARM [INDUCTIVE_ARM ...] [--grid GRID]
    e.g. scripts/loso_phase2.py pim-movement masked-transductive transform-probe masked
"""
import json
import sys

ABLATION = [["speed"], ["angle"], ["symmetry"], ["speed", "angle"], ["speed", "symmetry"], ["angle", "symmetry"]]


def main():
    args = sys.argv[1:]
    path = "configs/grid-dsads-loso.json"
    if "--grid" in args:
        at = args.index("--grid")
        path = args[at + 1] if at + 1 < len(args) else sys.exit(__doc__)
        del args[at:at + 2]
    if len(args) < 3:
        sys.exit(__doc__)
    chosen, inductive = args[:3], args[3:]
    with open(path) as f:
        grid = json.load(f)
    arms = {arm["name"]: arm for arm in grid["arms"]}
    for name, method in zip(chosen, ["pim", "masked", "transform"]):
        if name not in arms or arms[name]["method"] != method:
            sys.exit(f"{name} is not a {method} arm of {path}")
    for name in inductive:
        if name not in arms or arms[name].get("table") == "ablation":
            sys.exit(f"{name} is not a main-table arm of {path}")
    for arm in grid["arms"]:
        if arm["name"] in chosen + inductive:
            # The grid's own seeds and shot counts.
            arm.pop("seeds", None)
            arm.pop("shots", None)
        elif arm["method"] != "scratch" and "variant_of" not in arm and arm.get("table") != "ablation":
            arm["seeds"] = [0]
    pim = arms[chosen[0]]
    for tasks in ABLATION:
        name = "ablation-" + "+".join(tasks)
        if name in arms:
            continue
        arm = {"name": name, "method": "pim", "tasks": tasks, "seeds": [0], "shots": [2, 4, 8], "table": "ablation"}
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
