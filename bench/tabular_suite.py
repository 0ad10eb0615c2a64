"""descent on real tables, against scikit-learn, by 5-fold cross-validation.

    .venv/bin/python bench/tabular_suite.py                       # every data set
    .venv/bin/python bench/tabular_suite.py --datasets islr_auto,islr_oj --only descent
    .venv/bin/python bench/tabular_suite.py --table               # print docs' table

The data sets are the development suite in ../shared/datasets/tabular (suite.json names each
file's target and task); a clone without ../shared passes --data DIR. Each data set is split
by KFold(5, shuffle=True, random_state=0) (StratifiedKFold for classification). For each
fold:

- descent runs exactly as a user runs it, as a subprocess: the fold's training rows are
  written to a CSV, byte for byte as in the original file, and
  `descent train TRAIN.csv --target T --cv 0 --quiet --out M` trains (its own validation
  part for early stopping, then the refit on every training row), then
  `descent predict M TEST.csv --out P` predicts the held-out rows, read back from P.
  `--cv 0` replaces the default internal 5-fold evaluation (a report for the user, which
  changes the saved model only through the refit length) by one split, to keep the time
  comparable with one fit of each scikit-learn model.
- scikit-learn reads the same CSV with pandas and uses standard preprocessing: numbers
  median-imputed and standardized, text most-frequent-imputed and one-hot encoded
  (handle_unknown="ignore"). Models: RidgeCV (alphas 1e-3..1e3) / LogisticRegression;
  HistGradientBoosting (defaults); MLPRegressor (target standardized) / MLPClassifier
  (defaults).

Score: R² for regression, accuracy for classification, on the held-out fold, averaged over
the folds. Time: seconds per data set (all five folds, training and prediction), taken
three ways, so that each comparison is like for like:

- descent's two commands in new processes (`seconds`): the process starts included, its
  modules compiled to bytecode beforehand as an installed package has them (see
  `installed_env`; an untimed first run per data set writes the bytecode of every module
  the commands import);
- descent's same two commands inside one process that imported descent beforehand
  (`seconds_in_process`, bench/command_worker.py): the same arguments, files, parsing,
  checks and output, timed as the scikit-learn models are; both must predict the same;
- scikit-learn inside this process on the frame read once (`seconds`), and the MLP also as
  a user runs a script, one new process per fold reading the fold's CSV files
  (`seconds_as_script`, bench/sklearn_script.py).

Every process runs one thread (OMP/OPENBLAS/MKL_NUM_THREADS=1), as the machine is shared
and to compare like with like. Results are cached in bench/results/tabular_suite.json, one
entry per data set and contender, so `--only` reruns one contender; `--median-of` makes
one results file of repeated runs (median times).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "tabular_suite.json"
CONTENDERS = ("descent", "linear", "hgb", "mlp")
NAMES = {"descent": "descent", "linear": "linear (RidgeCV / LogisticRegression)",
         "hgb": "HistGradientBoosting", "mlp": "scikit-learn MLP"}
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def default_data() -> Path:
    for candidate in (ROOT.parent / "shared" / "datasets" / "tabular",
                      Path("/work/shared/datasets/tabular")):
        if (candidate / "suite.json").exists():
            return candidate
    return ROOT.parent / "shared" / "datasets" / "tabular"


def folds(path: Path, target: str, task: str) -> tuple[list[str], list[list[str]],
                                                         list[tuple[np.ndarray, np.ndarray]]]:
    """Header, raw records, and 5 (train, test) index pairs."""
    from sklearn.model_selection import KFold, StratifiedKFold

    with open(path, newline="", encoding="utf-8-sig") as f:
        records = list(csv.reader(f))
    header, rows = records[0], records[1:]
    y = [r[header.index(target)] for r in rows]
    if task == "classification":
        splitter = StratifiedKFold(5, shuffle=True, random_state=0)
        pairs = list(splitter.split(np.zeros(len(rows)), y))
    else:
        pairs = list(KFold(5, shuffle=True, random_state=0).split(np.zeros(len(rows))))
    return header, rows, pairs


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *rows])


def score(task: str, y_true: list[str] | np.ndarray, y_pred: list[str] | np.ndarray) -> float:
    if task == "regression":
        t = np.asarray(y_true, dtype=np.float64)
        p = np.asarray(y_pred, dtype=np.float64)
        return float(1 - np.sum((t - p) ** 2) / np.sum((t - t.mean()) ** 2))
    return float(np.mean(np.asarray(y_true, dtype=str) == np.asarray(y_pred, dtype=str)))


def same_label(a: str) -> str:
    """Labels as text the way both sides write them ("1" and "1.0" are one class)."""
    try:
        x = float(a)
    except ValueError:
        return a.strip()
    return str(int(x)) if x == int(x) else repr(x)


def children_cpu() -> float:
    """CPU seconds (user + system) of the finished subprocesses so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def installed_env(src: Path, pycache: Path) -> dict[str, str]:
    """The environment of the `descent` subprocesses: one thread, `src` on the path, and
    its modules compiled to bytecode beforehand (in `pycache`, outside the checkout), as
    `pip install` leaves an installed package. Without that, a shell with
    PYTHONDONTWRITEBYTECODE set compiles all of descent's sources in every process
    (0.17 s a start on the development machine), which no installed user pays."""
    env = {**os.environ, **ONE_THREAD, "PYTHONPATH": str(src),
           "PYTHONPYCACHEPREFIX": str(pycache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], env=env, check=True,
                   capture_output=True)
    return env


def _command(exe: list[str], args: list[str], env: dict[str, str], entry: dict) -> None:
    done = subprocess.run([*exe, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"descent {args[0]} failed on {entry['file']}: "
                           f"{done.stderr.strip()}")


def _predictions(path: Path) -> list[str]:
    with open(path, newline="") as f:
        return [r[-1] for r in list(csv.reader(f))[1:]]


def run_descent(entry: dict, data: Path, extra: list[str],
                src: Path = ROOT / "src", ways: tuple[str, ...] = ("process", "inside")
                ) -> dict[str, Any]:
    """descent on one data set, each fold twice: as two commands in new processes (the
    `seconds`), and as the same two commands run inside one process that imported descent
    beforehand (`seconds_in_process`, timed as the scikit-learn models are). Both must
    predict the same values: a seeded training is deterministic."""
    header, rows, pairs = folds(data / entry["file"], entry["target"], entry["task"])
    j = header.index(entry["target"])
    scores, seconds, cpu, inside, inside_cpu = [], 0.0, 0.0, 0.0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        env = installed_env(src, tmp_path / "pycache")
        exe = [sys.executable, "-c", "from descent.cli import main; main()"]
        worker = subprocess.Popen([sys.executable, str(HERE / "command_worker.py")], env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            for k, (train, test) in enumerate(pairs):
                train_csv, test_csv = tmp_path / f"train{k}.csv", tmp_path / f"test{k}.csv"
                write_rows(train_csv, header, [rows[i] for i in train])
                write_rows(test_csv, [h for i, h in enumerate(header) if i != j],
                           [[c for i, c in enumerate(rows[r]) if i != j] for r in test])
                runs = {}
                for way in ways:
                    model, pred = tmp_path / f"m{k}{way}.safetensors", tmp_path / f"p{k}{way}.csv"
                    commands = (["train", str(train_csv), "--target", entry["target"], "--cv",
                                 "0", "--quiet", "--out", str(model), *extra],
                                ["predict", str(model), str(test_csv), "--out", str(pred)])
                    if k == 0:  # untimed: bytecode of every module both commands import,
                        # written as an installed package has it, and the file cache warm
                        warm = tmp_path / "warm.safetensors"
                        for args in (["train", str(train_csv), "--target", entry["target"],
                                      "--cv", "0", "--quiet", "--out", str(warm),
                                      "--epochs", "1", "--ensemble", "1", "--no-refit"],
                                     ["predict", str(warm), str(test_csv), "--out",
                                      str(tmp_path / "warm.csv")]):
                            if way == "process":
                                _command(exe, args, env, entry)
                            else:
                                _ask(worker, args, entry)
                    if way == "process":
                        start, cpu_start = time.perf_counter(), children_cpu()
                        for args in commands:
                            _command(exe, args, env, entry)
                        seconds += time.perf_counter() - start
                        cpu += children_cpu() - cpu_start
                    else:
                        for args in commands:
                            got = _ask(worker, args, entry)
                            inside += got["seconds"]
                            inside_cpu += got["cpu_seconds"]
                    runs[way] = _predictions(pred)
                if len(set(map(tuple, runs.values()))) > 1:
                    raise RuntimeError(f"descent predicted differently in a new process and "
                                       f"inside one on {entry['file']} fold {k}")
                predicted = runs[ways[0]]
                truth = [rows[r][j] for r in test]
                if entry["task"] == "classification":
                    truth, predicted = [same_label(t) for t in truth], [same_label(p)
                                                                        for p in predicted]
                scores.append(score(entry["task"], truth, predicted))
        finally:
            worker.stdin.close()
            worker.wait()
    got: dict[str, Any] = {"scores": scores}
    if "process" in ways:
        got.update(seconds=seconds, cpu_seconds=cpu)
    if "inside" in ways:
        got.update(seconds_in_process=inside, cpu_seconds_in_process=inside_cpu)
    return got


def _ask(worker: subprocess.Popen, args: list[str], entry: dict) -> dict[str, Any]:
    """One command through bench/command_worker.py; its timing."""
    worker.stdin.write(json.dumps(args) + "\n")
    worker.stdin.flush()
    got = json.loads(worker.stdout.readline())
    if got["rc"] != 0:
        raise RuntimeError(f"descent {args[0]} failed on {entry['file']} (in process): "
                           f"{got.get('error', '')}")
    return got


def sklearn_model(name: str, task: str, X: Any) -> Any:
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers = [c for c in X.columns if X[c].dtype.kind in "fiu"]
    text = [c for c in X.columns if c not in numbers]
    pre = ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
        ("text", make_pipeline(SimpleImputer(strategy="most_frequent"),
                               OneHotEncoder(handle_unknown="ignore", sparse_output=False)), text),
    ])
    regression = task == "regression"
    model = {
        "linear": RidgeCV(alphas=np.logspace(-3, 3, 13)) if regression
        else LogisticRegression(max_iter=1000),
        "hgb": HistGradientBoostingRegressor(random_state=0) if regression
        else HistGradientBoostingClassifier(random_state=0),
        "mlp": TransformedTargetRegressor(MLPRegressor(random_state=0),
                                          transformer=StandardScaler()) if regression
        else MLPClassifier(random_state=0),
    }[name]
    return make_pipeline(pre, model)


def run_sklearn(name: str, entry: dict, data: Path, as_script: bool = False
                ) -> dict[str, Any]:
    """One scikit-learn model on one data set: each fold fitted and predicted inside this
    process on the frame read once (`seconds`); with `as_script`, also each fold run as a
    user runs a script, bench/sklearn_script.py in a new process reading the fold's CSV
    files (`seconds_as_script`, its scores kept apart as `scores_as_script`)."""
    import pandas as pd
    from threadpoolctl import threadpool_limits

    frame = pd.read_csv(data / entry["file"])
    header, rows, pairs = folds(data / entry["file"], entry["target"], entry["task"])
    y = frame[entry["target"]]
    X = frame.drop(columns=[entry["target"]])
    if entry["task"] == "classification":
        y = y.astype(str).map(same_label)
    scores, seconds, cpu = [], 0.0, 0.0
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLP's ConvergenceWarning: reported by its score
        for train, test in pairs:
            start, cpu_start = time.perf_counter(), time.process_time()
            model = sklearn_model(name, entry["task"], X).fit(X.iloc[train], y.iloc[train])
            pred = model.predict(X.iloc[test])
            seconds += time.perf_counter() - start
            cpu += time.process_time() - cpu_start
            scores.append(score(entry["task"], y.iloc[test].to_numpy(), pred))
    got: dict[str, Any] = {"scores": scores, "seconds": seconds, "cpu_seconds": cpu}
    if as_script:
        got.update(_sklearn_as_script(name, entry, header, rows, pairs))
    return got


def _sklearn_as_script(name: str, entry: dict, header: list[str], rows: list[list[str]],
                       pairs: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    j = header.index(entry["target"])
    env = {**os.environ, **ONE_THREAD}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed scikit-learn has its bytecode
    exe = [sys.executable, str(HERE / "sklearn_script.py"), name, entry["task"],
           entry["target"]]
    scores, seconds, cpu = [], 0.0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        for k, (train, test) in enumerate(pairs):
            train_csv, test_csv = tmp_path / f"train{k}.csv", tmp_path / f"test{k}.csv"
            pred = tmp_path / f"p{k}.csv"
            write_rows(train_csv, header, [rows[i] for i in train])
            write_rows(test_csv, [h for i, h in enumerate(header) if i != j],
                       [[c for i, c in enumerate(rows[r]) if i != j] for r in test])
            if k == 0:  # untimed, as descent's first: bytecode and file cache warm
                subprocess.run([*exe, str(train_csv), str(test_csv), str(pred)], env=env,
                               check=True, capture_output=True)
            start, cpu_start = time.perf_counter(), children_cpu()
            subprocess.run([*exe, str(train_csv), str(test_csv), str(pred)], env=env,
                           check=True, capture_output=True)
            seconds += time.perf_counter() - start
            cpu += children_cpu() - cpu_start
            predicted, truth = _predictions(pred), [rows[r][j] for r in test]
            if entry["task"] == "classification":
                truth, predicted = [same_label(t) for t in truth], [same_label(p)
                                                                    for p in predicted]
            scores.append(score(entry["task"], truth, predicted))
    return {"scores_as_script": scores, "seconds_as_script": seconds,
            "cpu_seconds_as_script": cpu}


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One results dict from repeated runs: each entry and contender as in the first run
    that has it, its times (the keys with "seconds") the median over the runs that have
    them. Scores must agree across runs (seeded trainings are deterministic)."""
    out: dict[str, Any] = {}
    for run in runs:
        for name, entry in run.items():
            if name.startswith("_"):
                out.setdefault(name, entry)
                continue
            for contender, got in entry.items():
                kept = out.setdefault(name, {}).setdefault(contender, dict(got))
                if got["scores"] != kept["scores"]:
                    raise ValueError(f"{name} {contender}: the runs scored differently")
    for name, entry in out.items():
        if name.startswith("_"):
            continue
        for contender, kept in entry.items():
            counts = {}
            for key in [k for k in kept if "seconds" in k]:
                values = [r[name][contender][key] for r in runs
                          if key in r.get(name, {}).get(contender, {})]
                kept[key] = statistics.median(values)
                counts[key] = len(values)
            kept["runs"] = counts
    return out


def load_results(path: Path = RESULTS) -> dict[str, Any]:
    if path.exists():
        return json.loads(path.read_text())
    return {}


def save_results(results: dict[str, Any], path: Path = RESULTS) -> None:
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")


def table(results: dict[str, Any], suite: list[dict]) -> str:
    """The Markdown table for docs/: per data set, mean score and seconds of each contender;
    then the goals."""
    lines = ["| data set | task | rows | descent | linear | HistGB | sklearn MLP |",
             "|---|---|---:|---:|---:|---:|---:|"]
    ranks: dict[str, list[float]] = {c: [] for c in CONTENDERS}
    means: dict[str, list[float]] = {c: [] for c in CONTENDERS}
    times: dict[str, list[float]] = {c: [] for c in CONTENDERS}
    cpu: dict[str, list[float]] = {c: [] for c in CONTENDERS}  # older entries have none
    worst_gap = (np.inf, "")
    for entry in suite:
        got = results.get(entry["file"], {})
        if not all(c in got for c in CONTENDERS):
            continue
        m = {c: statistics.mean(got[c]["scores"]) for c in CONTENDERS}
        order = sorted(CONTENDERS, key=lambda c: -m[c])
        for c in CONTENDERS:
            ranks[c].append(1 + sum(m[o] > m[c] for o in CONTENDERS))
            means[c].append(m[c])
            times[c].append(got[c].get("seconds", float("nan")))
            if "cpu_seconds" in got[c]:
                cpu[c].append(got[c]["cpu_seconds"])
        gap = m["descent"] - m["linear"]
        worst_gap = min(worst_gap, (gap, entry["file"]))
        cells = [f"{'**' if order[0] == c else ''}{m[c]:.3f}{'**' if order[0] == c else ''}"
                 f" ({got[c].get('seconds', float('nan')):.0f} s)" for c in CONTENDERS]
        metric = "R²" if entry["task"] == "regression" else "accuracy"
        lines.append(f"| {entry['file'].removesuffix('.csv')} | {metric} | {entry['rows']:,} | "
                     + " | ".join(cells) + " |")
    if not means["descent"]:
        return "\n".join(lines)
    lines.append("| **mean score** | | | " + " | ".join(
        f"{statistics.mean(means[c]):.3f}" for c in CONTENDERS) + " |")
    lines.append("| **mean rank** | | | " + " | ".join(
        f"{statistics.mean(ranks[c]):.2f}" for c in CONTENDERS) + " |")
    lines.append("| **median seconds** | | | " + " | ".join(
        f"{statistics.median(times[c]):.1f}" for c in CONTENDERS) + " |")
    if all(len(cpu[c]) == len(times[c]) for c in CONTENDERS):
        lines.append("| **median CPU seconds** | | | " + " | ".join(
            f"{statistics.median(cpu[c]):.1f}" for c in CONTENDERS) + " |")
    lines.append("")
    pairs = zip(means["descent"], means["linear"], strict=True)
    below = sum(d - li < -0.01 for d, li in pairs)
    ratio = statistics.median(d / s for d, s in zip(times["descent"], times["mlp"], strict=True))
    cpu_ratio = statistics.median(d / s for d, s in zip(cpu["descent"], cpu["mlp"], strict=True)) \
        if len(cpu["descent"]) == len(cpu["mlp"]) == len(times["descent"]) else None
    lines.append(f"Worst descent − linear: {worst_gap[0]:+.3f} ({worst_gap[1]}); data sets "
                 f"where descent is below linear − 0.01: {below} of {len(means['descent'])}; "
                 f"descent's time per data set / scikit-learn MLP's: median {ratio:.2f}"
                 + (f" (CPU time: median {cpu_ratio:.2f})" if cpu_ratio is not None else "")
                 + ".")
    return "\n".join(lines)


def time_table(results: dict[str, Any], suite: list[dict]) -> str:
    """The Markdown table of times: descent's two commands in new processes and in one
    process, scikit-learn's MLP in one process and as a script, per data set (wall seconds
    for the 5 folds, CPU seconds in brackets); the ratios like for like, and descent's
    commands against the MLP in process."""
    head = ("| data set | rows | descent, new processes | descent, one process | "
            "MLP, one process | MLP, as a script | one process: descent / MLP | "
            "new processes: descent / MLP script | descent new processes / MLP one process |")
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    columns: dict[str, list[float]] = {k: [] for k in ("dp", "di", "mi", "ms", "r1", "r2",
                                                       "r3")}
    for entry in suite:
        d, m = results.get(entry["file"], {}).get("descent"), \
            results.get(entry["file"], {}).get("mlp")
        if not d or not m or "seconds" not in d or "seconds_in_process" not in d \
                or "seconds_as_script" not in m:
            continue
        row = {"dp": (d["seconds"], d["cpu_seconds"]),
               "di": (d["seconds_in_process"], d["cpu_seconds_in_process"]),
               "mi": (m["seconds"], m["cpu_seconds"]),
               "ms": (m["seconds_as_script"], m["cpu_seconds_as_script"])}
        ratios = {"r1": row["di"][0] / row["mi"][0], "r2": row["dp"][0] / row["ms"][0],
                  "r3": row["dp"][0] / row["mi"][0]}
        for k, (wall, _) in row.items():
            columns[k].append(wall)
        for k, r in ratios.items():
            columns[k].append(r)
        lines.append(f"| {entry['file'].removesuffix('.csv')} | {entry['rows']:,} | "
                     + " | ".join(f"{w:.1f} s ({c:.1f})" for w, c in row.values()) + " | "
                     + " | ".join(f"{r:.2f}" for r in ratios.values()) + " |")
    if not columns["dp"]:
        return "\n".join(lines)
    lines.append("| **median** | | " + " | ".join(
        f"{statistics.median(columns[k]):.1f} s" for k in ("dp", "di", "mi", "ms")) + " | "
        + " | ".join(f"{statistics.median(columns[k]):.2f}" for k in ("r1", "r2", "r3"))
        + " |")
    lines.append("")
    lines.append(f"descent no slower than scikit-learn's MLP in one process on "
                 f"{sum(r <= 1 for r in columns['r1'])} of {len(columns['r1'])} data sets, "
                 f"as new processes against the MLP as a script on "
                 f"{sum(r <= 1 for r in columns['r2'])} of {len(columns['r2'])}.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--datasets", help="comma-separated file stems (default: all)")
    parser.add_argument("--only", help="comma-separated contenders: " + ",".join(CONTENDERS))
    parser.add_argument("--descent-args", default="", help="extra `descent train` arguments")
    parser.add_argument("--descent-ways", default="process,inside",
                        help="how descent runs: process (new processes), inside (one process)")
    parser.add_argument("--table", action="store_true", help="print the table and stop")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="the results file (one per concurrent run; merge with --merge)")
    parser.add_argument("--merge", type=Path, nargs="*", default=[],
                        help="results files whose entries are copied into --results first")
    parser.add_argument("--median-of", type=Path, nargs="*", default=[],
                        help="results files of repeated runs: --results gets each entry's "
                             "scores and the median of its times over them")
    parser.add_argument("--src", type=Path, default=ROOT / "src",
                        help="the descent sources to run (default: this checkout's)")
    args = parser.parse_args()
    suite = json.loads((args.data / "suite.json").read_text())
    results = load_results(args.results)
    for other in args.merge:
        for name, entry in load_results(other).items():
            if name.startswith("_"):
                continue
            results.setdefault(name, {}).update(entry)
    if args.median_of:
        results = median_of([load_results(p) for p in args.median_of])
    if args.merge or args.median_of:
        save_results(results, args.results)
    if args.table:
        print(table(results, suite))
        print()
        print(time_table(results, suite))
        return
    wanted = None if args.datasets is None else set(args.datasets.split(","))
    contenders = CONTENDERS if args.only is None else tuple(args.only.split(","))
    for entry in suite:
        if wanted is not None and entry["file"].removesuffix(".csv") not in wanted:
            continue
        for name in contenders:
            if name == "descent":
                got = run_descent(entry, args.data, args.descent_args.split(), args.src,
                                  tuple(args.descent_ways.split(",")))
            else:
                got = run_sklearn(name, entry, args.data, as_script=name == "mlp")
            results.setdefault(entry["file"], {})[name] = got
            results["_machine"] = {"python": platform.python_version(),
                                   "processor": platform.processor() or platform.machine(),
                                   "cpus": os.cpu_count()}
            save_results(results, args.results)
            times = "  ".join(f"{got[k]:.1f} s{label}" for k, label in (
                ("seconds", ""), ("seconds_in_process", " in one process"),
                ("seconds_as_script", " as a script")) if k in got)
            print(f"{entry['file']:32s} {name:8s} {statistics.mean(got['scores']):.4f} "
                  f"± {statistics.stdev(got['scores']):.4f}  {times}", flush=True)
    print(table(results, suite))
    print()
    print(time_table(results, suite))


if __name__ == "__main__":
    main()
