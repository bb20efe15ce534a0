"""The effc-moe-bench --perf tables that test/gpu/moe_variants.sh and
moe_tma.sh leave in a log directory (perf-1.txt .. perf-R.txt), read into
per-(layer, T) runs, and the medians and ratios their summaries print."""
import statistics


def perf_rows(log, repeats, columns):
    """{(layer, T): [one dict per run]} from the "layer (bf16)" table of each
    perf-r.txt. Rows: NAME T<n> experts cublas floor bytes flops err_cub,
    then (us, cub/x, x/flr) per bench variant; `columns` maps a key to its
    field index (e.g. {"cub": 3, "floor": 4, "wg": 8}); "-" reads as None."""
    rows = {}
    for r in range(1, repeats + 1):
        try:
            lines = open(f"{log}/perf-{r}.txt").read().splitlines()
        except OSError:
            continue
        at = [i for i, l in enumerate(lines) if l.startswith("layer (bf16)")]
        if not at:
            continue
        for l in lines[at[0] + 1:]:
            f = l.split()
            if len(f) < 14 or not f[1].startswith("T"):
                break
            rows.setdefault((f[0], int(f[1][1:])), []).append(
                {k: float(f[i]) if f[i] != "-" else None for k, i in columns.items()})
    return rows


def med(runs, k):
    """The median of key k over the runs that have it."""
    v = [x[k] for x in runs if x[k] is not None]
    return statistics.median(v) if v else None


def fmt(v, p=1):
    return "-" if v is None else f"{v:.{p}f}"


def ratio(a, b):
    return a / b if a and b else None


def pmed(runs, a, b):
    """The median of the runs' own a/b ratios (a and b timed side by side)."""
    v = [ratio(x[a], x[b]) for x in runs if ratio(x[a], x[b])]
    return statistics.median(v) if v else None
