"""The README's results section, generated from the files `make demo` wrote (figures/results*.csv,
figures/demo_timing.csv, figures/tuning.csv, figures/seeds.csv, figures/budget_curves.csv and figures/paper_preset.csv
of bench/): no number in it is typed by hand.

tools/make_readme.py replaces a line `<!-- results -->` of nbs/index.ipynb with `section(figures)`, and a line
`<!-- paper preset -->` with `paper_preset(figures)` (figures/paper_preset.csv of bench/paper_preset.py).
"""
from __future__ import annotations

import csv
import importlib
import math
import sys
from pathlib import Path

from decgan.report import GOALS, METRIC_FORMAT   # the goals (metric -> threshold) and each metric's (header, digits)

#: how each goal reads in the README
GOAL_TEXT = {"expression_accuracy": "expression accuracy ≥ {} (the judge's own ceiling on real faces is its accuracy)",
             "ssim": "SSIM against the true target ≥ {}", "identity_similarity": "identity similarity ≥ {}"}
#: the rows of figures/demo_timing.csv that are facts of the run, not a job's seconds
TIMING_FACTS = ("total", "lanes", "command", "commit", "preset", "preset_why", "steps", "steps_why")
#: the metrics of the README's table, headed and rounded as the results' own markdown (decgan.report.METRIC_FORMAT)
METRICS = {m: METRIC_FORMAT[m] for m in ("expression_accuracy", "identity_similarity", "ssim", "psnr", "fid")}


def read(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f: return list(csv.DictReader(f))


def num(v) -> float:
    try: return float(v)
    except (TypeError, ValueError): return math.nan


def fmt(v, digits: int) -> str:
    v = num(v)
    if math.isnan(v): return "n/a"
    if math.isinf(v): return "∞"
    return f"{v:,.{digits}f}"


def with_ci(row: dict, metric: str, digits: int) -> str:
    v, lo, hi = (num(row.get(metric + s)) for s in ("", "_lo", "_hi"))
    if math.isnan(v): return "n/a"
    if math.isnan(lo) or math.isinf(v): return fmt(v, digits)
    return f"{fmt(v, digits)} [{fmt(lo, digits)}, {fmt(hi, digits)}]"


def signed(v: float, digits: int = 3) -> str:
    return f"{v:+.{digits}f}"


def table(rows: list[dict]) -> str:
    head = "| model | steps × batch | " + " | ".join(h for h, _ in METRICS.values()) + " |"
    lines = [head, "|" + "---|" * (len(METRICS) + 2)]
    for r in rows:
        budget = (f"{int(num(r['step'])):,} × {int(num(r['batch_size']))}" if r.get("kind") == "model" and not math.isnan(num(r.get("step")))
                  else "—")
        name = r["model"] if r.get("kind") == "model" else f"*{r['model']}*"
        lines.append(f"| {name} | {budget} | " + " | ".join(with_ci(r, m, d) if r.get("kind") == "model" else fmt(r.get(m), d)
                                                          for m, (_, d) in METRICS.items()) + " |")
    return "\n".join(lines)


def comparison(comps: list[dict], model: str, reference: str, metric: str) -> str | None:
    for c in comps:
        if c["model"] == model and c["reference"] == reference and c["metric"] == metric:
            d, lo, hi = num(c["difference"]), num(c["lo"]), num(c["hi"])
            return f"{signed(d)} [{signed(lo)}, {signed(hi)}]" + ("" if c.get("significant") == "True" else " (within the noise)")
    return None


def bench(name: str):
    "A script of bench/ as a module (bench/ is not a package: its scripts import each other by name)."
    where = str(Path(__file__).resolve().parent.parent / "bench")
    if where not in sys.path: sys.path.insert(0, where)
    return importlib.import_module(name)


def run_titles() -> dict:
    "{run: its name in the tables}, from tools/demo_runs.tsv (through bench/budget_curve.py, which reads it)."
    return {k: v[1] for k, v in bench("budget_curve").VARIANTS.items()}


def stands(other: str, verdicts: dict) -> str:
    """How the reference row stands against `other`, from `other`'s verdicts {metric: 'ahead' | 'behind' | 'cannot be
    told apart'} (other minus the reference): the row behind is the reference ahead."""
    on = lambda x: [METRIC_FORMAT[m][0] for m, v in verdicts.items() if v == x]
    ahead, behind, level = on("behind"), on("ahead"), on("cannot be told apart")
    return (f"against {other}: ahead on {', '.join(ahead) or 'nothing'}" + (f", behind on {', '.join(behind)}" if behind else "")
            + (f", level (cannot be told apart) on {', '.join(level)}" if level else ""))


def stargan_domains(figures: Path) -> list[str]:
    "Whether StarGAN's D_cls learned the expressions with the settings it trains with (figures/stargan_dcls.csv)."
    curve = figures / "stargan_dcls.csv"
    if not curve.is_file(): return []
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from decgan.core import Config
    from decgan.stargan import GP_PATCH_REDUCE
    lr = Config.preset_of("demo", model="stargan").lr
    rows = [r for r in read(curve) if r["gp_patch_reduce"] == GP_PATCH_REDUCE and math.isclose(num(r["lr"]), lr)]
    if not rows: return []
    rows.sort(key=lambda r: int(num(r["step"])))
    first = next((int(num(r["step"])) for r in rows if num(r["heldout_cls_acc_peak"]) >= 0.95), None)
    return [f"**StarGAN learns its domains** (`bench/stargan_dcls.py`, `figures/stargan_dcls.md`): with the settings it "
            f"trains with (gradient penalty on the {GP_PATCH_REDUCE} over the patch map, as the official code; lr {lr:g}), "
            "its domain classifier reads the expression of held-out peak frames with accuracy "
            + (f"≥ 0.95 from step {first:,}" if first is not None else "never reaching 0.95")
            + f" and {fmt(rows[-1]['heldout_cls_acc_peak'], 2)} at step {int(num(rows[-1]['step'])):,}.", ""]


def fair_race(figures: Path) -> list[str]:
    "The lead of the results: the tuning every model got (figures/tuning.csv) and the rows over seeds (figures/seeds.csv)."
    out = []
    tuning = figures / "tuning.csv"
    if tuning.is_file():
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from decgan.registry import model_spec
        chosen = [r for r in read(tuning) if r["chosen"] == "True"]
        out += [f"**Every model tuned with the same effort** (`bench/tuning.py`, `figures/tuning.md`): learning rate "
                "1e-4 / 2e-4 / 5e-4 × the generator's EMA on/off, at the same budget in images, chosen on validation "
                "identities of a tuning tree of other people (never the test identities below). Chosen: " +
                "; ".join(f"{model_spec(r['search_model']).title} lr {num(r['lr']):g}, "
                          f"{'EMA' if r['weights'] == 'EMA' else 'no EMA'} (score {fmt(r['score'], 3)})" for r in chosen) + ".", ""]
    out += stargan_domains(figures)
    seeds = figures / "seeds.csv"
    if seeds.is_file():
        rows, titles = read(seeds), run_titles()
        runs = list(dict.fromkeys(r["run"] for r in rows))
        metrics = [m for m in ("expression_accuracy", "identity_similarity", "ssim") if any(r["metric"] == m for r in rows)]
        by = {(r["run"], r["metric"]): r for r in rows}
        cell = lambda r: (f"{fmt(r['mean'], 3)}" + ("" if math.isnan(num(r['sd_seeds'])) else f" ±{fmt(r['sd_seeds'], 3)}")
                          + f" [{fmt(r['lo'], 3)}, {fmt(r['hi'], 3)}]")
        diff = lambda r: ("" if math.isnan(num(r.get("diff"))) else
                          f"{signed(num(r['diff']))} [{signed(num(r['diff_lo']))}, {signed(num(r['diff_hi']))}] {r['verdict']}")
        first = rows[0]
        out.append(f"**The headline, over seeds** (`bench/seeds.py`, `figures/seeds.md`): each row trained with the seeds "
                   f"its column counts, at the main job's budget in images, scored on {first['n_identities']} test identities "
                   "by one set of judges (the shipped ones); mean ±seed-to-seed sd [95% interval resampling seeds and "
                   f"identities], and each row minus {titles.get(runs[0], runs[0])}, paired by seed and identity. A row "
                   "of one seed has no spread of its own and its interval covers identities only: read its verdicts "
                   "against the spread of the rows with three.")
        out.append("")
        out.append("| row | seeds | " + " | ".join(METRIC_FORMAT[m][0] for m in metrics) + " | " +
                   " | ".join(f"− {titles.get(runs[0], runs[0])}: {METRIC_FORMAT[m][0]}" for m in metrics) + " |")
        out.append("|" + "---|" * (2 + 2 * len(metrics)))
        for run in runs:
            n_seeds = by[(run, metrics[0])]["n_seeds"] if (run, metrics[0]) in by else "?"
            out.append(f"| {titles.get(run, run)} | {n_seeds} | " + " | ".join(cell(by[(run, m)]) if (run, m) in by else "n/a" for m in metrics)
                       + " | " + " | ".join(diff(by[(run, m)]) if (run, m) in by else "" for m in metrics) + " |")
        ref_run, ref_title = runs[0], titles.get(runs[0], runs[0])
        said = []
        for run in runs[1:]:
            said.append(stands(titles.get(run, run), {m: by[(run, m)].get("verdict", "") for m in metrics if (run, m) in by}))
        out += ["", f"**Where {ref_title} stands at equal budget:** " + "; ".join(said).rstrip(".") + "."]
        additions = [run for run in runs if titles.get(run, run).startswith(ref_title + " with")]
        if additions:
            verdict = {"behind": "worse without it (it helps)", "ahead": "better without it (it hurts)",
                       "cannot be told apart": "cannot be told apart"}
            out += ["", f"**What the paper's additions do** (each ablation minus {ref_title}, paired by seed and "
                    "identity): " + "; ".join(
                        f"{titles.get(run, run)} ({by[(run, metrics[0])]['n_seeds']} seed"
                        f"{'' if by[(run, metrics[0])]['n_seeds'] == '1' else 's'}): " + ", ".join(
                            f"{METRIC_FORMAT[m][0]} {verdict.get(by[(run, m)].get('verdict', ''), 'n/a')}"
                            for m in metrics if (run, m) in by) for run in additions) + "."]
        out += plateau(figures)
        goals = []
        for m, thr in GOALS.items():
            if (ref_run, m) not in by: continue
            v = num(by[(ref_run, m)]["mean"])
            goals.append(f"{GOAL_TEXT[m].format(thr)}: {fmt(v, 3)}, " + ("**met**" if v >= thr else f"**missed** by {thr - v:.3f}"))
        if goals:
            out += ["", f"**Goals** ({titles.get(ref_run, ref_run)}, mean of the seeds, at the main job's budget): "
                    + "; ".join(goals) + "."]
        out += ["", "Below, the single-seed table of the last full `make demo` (its commit is named in it). Where the two "
                "disagree, read the table above: trained later, with every model tuned, over seeds.", ""]
    return out


def plateau(figures: Path) -> list[str]:
    "The headline at two budgets and the curves (figures/budget_curves.csv/.png of bench/budget_curve.py), if measured."
    curves = figures / "budget_curves.csv"
    if not curves.is_file():
        return ["", "Each model at its plateau has not been measured yet (`bench/budget_curve.py`)."]
    import pandas as pd
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from budget_curve import plateau_markdown
    t = pd.read_csv(curves)
    missing = list(dict.fromkeys(t.variant[~t.plateau_reached]))
    out = ["", "**At equal images seen and each model at its plateau** (`bench/budget_curve.py`, "
           "`figures/budget_curves.md`; seed 0, 95% intervals over test identities): every model trained at doubling "
           "budgets in images seen until two more doublings left every metric inside the interval of the budget "
           "before them" + (f"; not reached within the budgets trained by {', '.join(missing)}, each of which is shown "
                            "at its best budget instead (the highest mean of the three metrics)" if missing else "") +
           ". CPU s: the training processes' user + system seconds.", "", plateau_markdown(t), ""]
    comps = figures / "budget_curves_comparisons.csv"
    if comps.is_file():
        c = read(comps)
        ref = c[0]["reference"]
        said = []
        for model in dict.fromkeys(r["model"] for r in c):
            said.append(stands(model, {r["metric"]: r["verdict"] for r in c if r["model"] == model}))
        out += [f"**Where {ref} stands with each model at its plateau, or at its best budget where it has none** (paired "
                "over the same translations, `figures/budget_curves.md`): " + "; ".join(said) + ".", ""]
    if (figures / "budget_curves.png").is_file():
        out.append("![Expression accuracy, identity similarity and SSIM of every model against images seen]"
                   "(figures/budget_curves.png)")
    return out


def where_in_spread(models: list[dict], seeded: list[dict]) -> str:
    "Where each row of the single-seed table falls against the same row's 95% interval over seeds (figures/seeds.csv)."
    titles = run_titles()
    by = {(titles.get(r["run"], r["run"]), r["metric"]): r for r in seeded}
    parts = []
    for r in models:
        cells, n_seeds = [], ""
        for m in ("expression_accuracy", "identity_similarity", "ssim"):
            s = by.get((r["model"], m))
            if s is None or math.isnan(num(r.get(m))): continue
            v, lo, hi, n_seeds = num(r[m]), num(s["lo"]), num(s["hi"]), s["n_seeds"]
            where = "inside" if lo <= v <= hi else "above" if v > hi else "below"
            cells.append(f"{METRIC_FORMAT[m][0]} {fmt(v, 3)} {where} [{fmt(lo, 3)}, {fmt(hi, 3)}]")
        if cells: parts.append(f"{r['model']} ({n_seeds} seed{'' if n_seeds == '1' else 's'}): " + ", ".join(cells))
    return ("**This single-seed run against the spread over seeds** (each value against the same row's 95% interval "
            "over seeds and identities in `figures/seeds.md`): " + "; ".join(parts) + ".") if parts else ""


def section(figures: Path) -> str:
    "The markdown of the results section, or a note that `make demo` has not written its files yet."
    res = figures / "results.csv"
    if not res.is_file(): return "*No results yet: `make demo` writes `figures/results.csv`, then `make readme`.*"
    rows = read(res)
    models = [r for r in rows if r.get("kind") == "model"]
    by = {r["model"]: r for r in rows}
    comps = read(figures / "results_comparisons.csv") if (figures / "results_comparisons.csv").is_file() else []
    timing = {r["job"]: r["seconds"] for r in read(figures / "demo_timing.csv")} if (figures / "demo_timing.csv").is_file() else {}
    ref = models[0]
    out = fair_race(figures)
    n_subj, n = int(num(ref["n_subjects"])), int(num(ref["n"]))
    cmd = timing.get("command", "make demo")
    out.append(f"`{cmd}` (commit {timing.get('commit', 'unknown')}) trained every run for the same number of images "
               f"({int(num(ref['images_seen'])):,}) on the embedded CK+-format tree and scored it on {n_subj} identities "
               f"never seen in training ({n} translations of their neutral faces to the other expressions; 95% bootstrap "
               f"intervals over identities). Expression judge: {ref['expression_judge']}, accuracy "
               f"{fmt(ref['expression_judge_accuracy'], 3)} on real held-out faces (the ceiling of the expression column). "
               f"Identity judge: {ref['identity_judge']}" +
               (f", rank-1 {fmt(ref['identity_judge_rank1'], 3)} on unseen identities (genuine-pair cosine "
                f"{fmt(ref['identity_judge_genuine'], 2)}, impostor {fmt(ref['identity_judge_impostor'], 2)})"
                if not math.isnan(num(ref.get("identity_judge_rank1"))) else "") +
               f". FID/KID on {ref['fid_features']}, not Inception's.")
    out.append("")
    out.append(table(rows))
    out.append("")
    if (figures / "seeds.csv").is_file():
        out += [where_in_spread(models, read(figures / "seeds.csv")), ""]
    goals = []
    for m, thr in GOALS.items():
        text, v = GOAL_TEXT[m].format(thr), num(ref[m])
        verdict = "**met**" if v >= thr else f"**missed** by {thr - v:.3f}"
        goals.append(f"{text}: {ref['model']} {with_ci(ref, m, 3)}, {verdict}")
    out.append("**Goals at this budget.** " + "; ".join(goals) + ".")
    for other in [r["model"] for r in models[1:] if not r["model"].startswith(ref["model"] + " ")]:
        parts = [f"{label} {d}" for label, metric in (("identity similarity", "identity_similarity"), ("SSIM", "ssim"),
                                                      ("expression accuracy", "expression_accuracy"))
                 if (d := comparison(comps, other, ref["model"], metric))]
        if parts:
            out.append("")
            out.append(f"**{ref['model']} against {other}**, paired over the same translations ({other} minus "
                       f"{ref['model']}): " + "; ".join(parts) + ".")
    ablations = [r["model"] for r in models[1:] if r["model"].startswith(ref["model"] + " ")]
    if ablations:
        out.append("")
        out.append("**Ablations** (each minus DECGAN, paired): " + "; ".join(
            f"{a[len(ref['model']) + 1:]}: expression {comparison(comps, a, ref['model'], 'expression_accuracy')}, "
            f"SSIM {comparison(comps, a, ref['model'], 'ssim')}" for a in ablations) + ".")
    raf = figures / "results_rafdb.csv"
    if raf.is_file():
        rr = [r for r in read(raf) if r.get("kind") == "model"]
        if rr:
            out.append("")
            out.append(f"**Fig 5's runs** (the RAF-DB-format tree: colour, one identity per photo, {int(num(rr[0]['n']))} "
                       f"translations): " + "; ".join(f"{r['model']} expression {with_ci(r, 'expression_accuracy', 3)}, "
                                                       f"identity {with_ci(r, 'identity_similarity', 3)}" for r in rr) +
                       " (`figures/results_rafdb.md`).")
    if timing.get("total"):
        jobs = {k: v for k, v in timing.items() if k not in TIMING_FACTS}
        out.append("")
        if timing.get("preset"):
            out.append(f"**Preset and budget.** {timing['preset']}: {timing.get('preset_why', '')}; "
                       f"{int(num(timing['steps'])):,} DECGAN steps: {timing.get('steps_why', '')}.")
            out.append("")
        out.append(f"**Time.** This `{cmd}` took {num(timing['total']) / 60:.1f} min wall, "
                   f"{timing.get('lanes', '2')} jobs side by side: " +
                   ", ".join(f"{k} {int(num(v))} s" for k, v in sorted(jobs.items(), key=lambda kv: -num(kv[1]))) + ".")
    return "\n".join(out)



def paper_runs() -> dict:
    "{run: (its flags on top of --preset paper, what it is)} of bench/paper_preset.py."
    return bench("paper_preset").RUNS


def as_params(flags: list[str]) -> str:
    "`--lr 5e-4 --ema-beta 0.999` as the README's papermill parameters: `-p lr 5e-4 -p ema_beta 0.999`."
    return " ".join(f"-p {k[2:].replace('-', '_')} {v}" for k, v in zip(flags[::2], flags[1::2]))


def mean3(row: dict) -> float:
    "The mean of the metrics whose intervals say where a curve is flat (bench/budget_curve.py's PLATEAU_METRICS)."
    curve = bench("budget_curve").PLATEAU_METRICS
    return sum(num(row[m]) for m in curve) / len(curve)


def paper_run_summary(rows: list[dict]) -> dict:
    """One run of figures/paper_preset.csv (both weights): its best snapshot (the highest mean of the three metrics,
    over both weights), where it is first flat (the earliest plateau of either weights, or None), its last step and the
    CPU and wall-clock seconds of its training."""
    best = max(rows, key=mean3)
    flat = [r for r in rows if r["plateau"] == "True"]
    first = min(flat, key=lambda r: int(num(r["step"]))) if flat else None
    return dict(best=best, flat=first, last=max(int(num(r["step"])) for r in rows),
                cpu_s=max(num(r["cpu_s"]) for r in rows), wall_s=max(num(r.get("wall_s", "nan")) for r in rows))


def recommendation(runs: dict, *, planned: int, flags: dict, batch: int, every: int) -> str:
    """What a GPU user should start from, written from the runs' summaries (`paper_run_summary`): the settings that
    converge (the better of both when both do), from which step; while the runs are short of `planned`, that the
    advice waits for them. `every`: the steps between snapshots."""
    last = min(r["last"] for r in runs.values())
    if last < planned:
        return (f"**What to start from on a GPU: not yet written.** The runs have reached {last:,} of their "
                f"{planned:,} steps (`bench/paper_preset.py` continues them where they stopped); the plateau rule needs "
                "two more snapshots after the one it marks, so the advice waits for the curve.")
    use = lambda name: f"`{as_params(['--preset', 'paper', *flags[name]])}`"
    weights = lambda r: "its EMA weights" if r["best"]["weights"] == "EMA" else "its last weights"
    flat = {n: r for n, r in runs.items() if r["flat"] is not None}
    if flat:
        name = max(flat, key=lambda n: mean3(flat[n]["best"]))
        s = int(num(flat[name]["flat"]["step"]))
        where = ", ".join(f"{n} flat from {int(num(r['flat']['step'])):,} steps" for n, r in flat.items())
        head = (f"Both settings converge at 64×64 ({where}); "
                f"{name} scores higher at its best snapshot." if len(flat) == len(runs) else
                f"Only {name} converges within {planned:,} steps (flat from {s:,}); "
                + ", ".join(f"{n} is still moving at {r['last']:,}" for n, r in runs.items() if n not in flat) + ".")
        return (f"**What to start from on a GPU.** {head} Start from {name}, {use(name)}, for at least {s:,} steps "
                f"({s * batch:,} images), and evaluate {weights(flat[name])}.")
    name = max(runs, key=lambda n: mean3(runs[n]["best"]))
    b = runs[name]["best"]
    return (f"**What to start from on a GPU.** Neither setting is flat within {last:,} steps (no snapshot that the next "
            f"two stay inside). {name} scores higher at its best snapshot ({int(num(b['step'])):,} steps, "
            f"{'EMA' if b['weights'] == 'EMA' else 'last'} weights): start from it, {use(name)}, and train past "
            f"{last:,} steps, keeping a snapshot every {every:,} to find where it flattens.")


def paper_preset(figures: Path) -> str:
    """The README's paragraph on the paper preset (64×64, Tables 1–2): its measured curve, Figs 3–4 at 64 px and what to
    start from (figures/paper_preset.csv of bench/paper_preset.py), or how to measure them while that file is missing."""
    table_csv = figures / "paper_preset.csv"
    if not table_csv.is_file():
        return ("**How many steps the paper preset needs is not measured yet.** `-p preset paper` keeps the paper's "
                "settings (Adam 2e-4, 100,000 steps); everything this README measured about convergence (the learning "
                "rate 5e-4, the generator's EMA, the budget) was measured at the demo preset's 32×32 and quarter widths. "
                "`bench/paper_preset.py` measures the paper's size: DECGAN with the paper's settings and with the demo's "
                "recipe (`-p lr 5e-4 -p ema_beta 0.999`) on the embedded CK+-format tree, a snapshot every 1,500 steps "
                "scored like the results table, into `figures/paper_preset.md` with its curve and Figs 3–4 at 64 px: "
                "one command, `bench/paper_preset.py --parallel --table figures/paper_preset --plot "
                "figures/paper_preset.png --figures figures`, a GPU job (`bench/README.md` says what it costs on a CPU). "
                "Once that file exists, `make demo` on a CUDA device says whether the steps it plans lie past where the "
                "curve flattens.")
    rows = read(table_csv)
    runs_flags = {k: v[0] for k, v in paper_runs().items()}
    runs = {n: paper_run_summary([r for r in rows if r["run"] == n]) for n in dict.fromkeys(r["run"] for r in rows)}
    planned, batch = int(num(rows[0]["planned_steps"])), int(num(rows[0]["batch_size"]))
    last = min(r["last"] for r in runs.values())
    gpu = rows[0].get("device") == "cuda"      # a GPU run costs wall-clock time; a CPU run, core-hours
    hours = ", ".join(f"{n} {r['wall_s' if gpu else 'cpu_s'] / 3600:.{2 if gpu else 1}f}" for n, r in runs.items())
    out = [f"### The paper preset, trained here: 64×64, Tables 1–2, {last:,} steps ({last * batch:,} images) a run"
           + ("" if last >= planned else f" of {planned:,} so far")
           + f"; {'wall-clock hours' if gpu else 'hours of one core'} on {rows[0]['machine']}: {hours}", ""]
    for n, r in runs.items():
        b = r["best"]
        state = (f"flat from {int(num(r['flat']['step'])):,} steps ({r['flat']['weights']} weights)" if r["flat"] is not None
                 else f"not flat at {r['last']:,} steps")
        out.append(f"- **{n}** ({b['what']}): {state}; best snapshot {int(num(b['step'])):,} steps, {b['weights']} "
                   "weights: " + ", ".join(f"{METRIC_FORMAT[m][0]} {with_ci(b, m, 3)}" for m in bench("budget_curve").PLATEAU_METRICS)
                   + ".")
    steps = sorted({int(num(r["step"])) for r in rows})
    every = min((b - a for a, b in zip(steps, steps[1:])), default=steps[0])
    out += ["", recommendation(runs, planned=planned, flags=runs_flags, batch=batch, every=every), "",
            "Every snapshot with both weights, images seen and CPU seconds: `figures/paper_preset.md` (its command in "
            "its footer; `bench/README.md` has the runs' commands)."]
    pics = [(f, alt) for f, alt in (("paper_preset.png", "Expression accuracy, identity similarity and SSIM of both runs "
                                     "against steps"), ("fig3_paper_preset.png", "Fig 3 at 64 px from the best snapshot"),
                                    ("fig4_paper_preset.png", "Fig 4 at 64 px from the best snapshot"))
            if (figures / f).is_file()]
    if pics: out += [""] + [f"![{alt}](figures/{f})" for f, alt in pics]
    return "\n".join(out)


if __name__ == "__main__":
    print(section(Path(sys.argv[1] if len(sys.argv) > 1 else "figures")))
