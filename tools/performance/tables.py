#!/usr/bin/env python3
"""Markdown tables of docs/performance.md from one tools/performance/run.sh output folder.

usage: tools/performance/tables.py OUT_DIR
"""
import json
import os
import sys


def load(folder, name):
    path = os.path.join(folder, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def fmt(v, digits=2):
    if v is None:
        return "—"
    return f"{v:,.{digits}f}".replace(",", " ")


def main(folder):
    threads = sorted({int(n.split("_t")[-1].split(".")[0]) for n in os.listdir(folder) if n.endswith(".json")})
    print("| L | threads | fused fwd ms | fused bwd ms | bwd / fwd | fused inference ms | loop fwd ms | loop bwd ms "
          "| speed-up fwd | speed-up fwd+bwd |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for length in (32, 256, 1024, 4096):
        for t in threads:
            j = load(folder, f"scan_L{length}_t{t}")
            if j is None:
                continue
            ff, fb = j["fused_forward_ms"], j["fused_backward_ms"]
            lf, lb = j.get("loop_forward_ms"), j.get("loop_backward_ms")
            has_loop = bool(lf) and bool(lb)
            print(f"| {length} | {t} | {fmt(ff)} | {fmt(fb)} | {fmt(fb / ff)} | {fmt(j['fused_inference_forward_ms'])} "
                  f"| {fmt(lf if has_loop else None, 1)} | {fmt(lb if has_loop else None, 0)} "
                  f"| {fmt(lf / ff, 1) + '×' if has_loop else '—'} | "
                  f"{'**' + fmt((lf + lb) / (ff + fb), 1) + '×**' if has_loop else '—'} |")
    print()
    print("| model | threads | windows/s | forward ms | model GFLOP/s | SGEMM 1024³ GFLOP/s | fraction "
          "| in_proj-shape GEMM GFLOP/s | train samples/s | train step ms | peak RSS MiB (train) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, label in (("model_B1", "B = 1"), ("model_B64", "B = 64"), ("model_B32", "B = 32"),
                        ("model_L4096", "B = 1, L = 4096 patches")):
        for t in threads:
            j = load(folder, f"{name}_t{t}")
            if j is None:
                continue
            print(f"| {label} | {t} | {fmt(j['windows_per_s'], 1)} | {fmt(j['forward_ms'], 1)} "
                  f"| {fmt(j['model_gflops_per_s'], 1)} | {fmt(j['sgemm_gflops_per_s'], 1)} "
                  f"| **{100 * j['model_fraction_of_sgemm']:.0f} %** "
                  f"| {fmt(j['sgemm_model_shape_gflops_per_s'], 1)} ({j['sgemm_model_shape']}) "
                  f"| {fmt(j.get('train_samples_per_s'), 1)} | {fmt(j.get('train_step_ms'), 0)} "
                  f"| {fmt(j.get('peak_rss_mib'), 0)} |")
    print()
    stage_names = None
    rows = {}
    for t in threads:
        j = load(folder, f"model_B64_t{t}")
        if j and "stages_ms" in j:
            rows[t] = j["stages_ms"]
            stage_names = list(j["stages_ms"].keys())
    if stage_names:
        print("| stage (B = 64, forward) | " + " | ".join(f"{t} thread{'s' if t > 1 else ''} ms" for t in rows) + " |")
        print("|---|" + "---:|" * len(rows))
        for s in stage_names:
            print(f"| {s} | " + " | ".join(fmt(rows[t][s], 1) for t in rows) + " |")


def roofline(folder):
    """Per stage of the batch-64 forward: MACs (count_macs), time, GFLOP/s and share of SGEMM."""
    stage_to_module = (("patch_embed", "patch_embed"), ("freq_embed", "freq_embed"),
                       ("location_embed", "channel_location_embedder"), ("cross_attn", "cross_attn"),
                       ("mamba_blocks", "mamba_blocks"), ("head", "classifier"))
    for t in (1, 2):
        j = load(folder, f"model_B64_t{t}")
        if j is None or "stages_ms" not in j:
            continue
        b, st, macs, sgemm = j["batch"], j["stages_ms"], j["macs_per_window_by_module"], j["sgemm_gflops_per_s"]
        print(f"\nGEMM roofline, batch 64, {t} thread{'s' if t > 1 else ''} (SGEMM {sgemm:.0f} GFLOP/s in the same run):\n")
        print("| stage | GMAC | ms | GFLOP/s | % of SGEMM | ms at the SGEMM rate |")
        print("|---|---:|---:|---:|---:|---:|")
        total_ms = total_macs = 0.0
        for stage, module in stage_to_module:
            m = macs.get(module, 0) * (b if module != "channel_location_embedder" else 1) / 1e9
            ms = st[stage]
            total_ms += ms
            total_macs += m
            print(f"| {stage} | {m:.3f} | {ms:.1f} | {2 * m / ms * 1e3:.1f} | {200 * m / ms * 1e3 / sgemm:.0f} % "
                  f"| {2 * m / sgemm * 1e3:.1f} |")
        for stage in ("token_regroup",):
            total_ms += st.get(stage, 0.0)
            print(f"| {stage} | 0 | {st.get(stage, 0.0):.1f} | — | — | 0 |")
        print(f"| **sum of stages** | {total_macs:.3f} | {total_ms:.1f} | {2 * total_macs / total_ms * 1e3:.1f} "
              f"| {200 * total_macs / total_ms * 1e3 / sgemm:.0f} % | {2 * total_macs / sgemm * 1e3:.1f} |")


if __name__ == "__main__":
    main(sys.argv[1])
    roofline(sys.argv[1])
