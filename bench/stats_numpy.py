"""Straightforward vectorised numpy implementation of the paper's statistics (spec section 5),
the baseline `cargo xtask bench stats` measures spike-stats against.

It materialises the time-concatenated series S (N x n*T) and uses np.cov, np.bincount and
array slicing, as a numpy user would write it. First it checks itself against the golden outputs
of the original code (shared/fixtures/stats_golden); then it times every statistic over all
sliding windows of the retina recording and computes the paper's Fig. 3 errors (first 8192
non-overlapping windows of the k-pairwise and DG samples against all sliding windows).

usage: python3 stats_numpy.py <shared dir>   -> one JSON object on stdout
"""
import json
import sys
import time

import numpy as np
import scipy.io as sio

LAG = 10


def stats(X):
    """X: [n, N, T] 0/1 array. Returns the seven statistics as numpy arrays."""
    n, N, T = X.shape
    S = X.transpose(1, 0, 2).reshape(N, n * T)                 # neuron-major concatenation
    L = S.shape[1]
    mean = X.sum(axis=2).mean(axis=0)
    cov = np.cov(S)
    k_probs = np.bincount(S.sum(axis=0), minlength=N + 1) / L
    acf = np.zeros(2 * LAG + 1)
    acf[LAG] = X.sum()
    for k in range(1, LAG + 1):
        if k < T:
            acf[LAG + k] = acf[LAG - k] = np.sum(X[:, :, :-k].astype(np.int64) * X[:, :, k:])
    acf = acf / acf.max()
    acf[LAG] = 0
    time_course = X.mean(axis=0)
    a = S[:, :-1].astype(np.float64)
    b = S[:, 1:].astype(np.float64)
    a -= a.mean(axis=1, keepdims=True)
    b -= b.mean(axis=1, keepdims=True)
    lag_cov = a @ b.T / (L - 2)
    return dict(mean=mean, cov=cov, variances=np.diag(cov).copy(), k_probs=k_probs, acf=acf,
                time_course=time_course, lag_cov=lag_cov)


def errors(m, r):
    off = ~np.eye(m["cov"].shape[0], dtype=bool)
    return dict(
        mean=float(np.abs(m["mean"] - r["mean"]).sum()),
        covariance=float(np.abs(m["cov"] - r["cov"])[off].sum()),
        variance=float(np.abs(m["variances"] - r["variances"]).sum()),
        k_probabilities=float(np.abs(m["k_probs"] - r["k_probs"]).sum()),
        autocorrelogram=float(np.abs(m["acf"] - r["acf"]).sum()),
        time_course=float(np.abs(m["time_course"] - r["time_course"]).sum()),
        lag_covariance=float(np.abs(m["lag_cov"] - r["lag_cov"]).sum()),
    )


def check_golden(fixtures):
    golden = json.load(open(f"{fixtures}/expected.json"))
    keys = dict(mean="mean_spike_count", cov="cov_mat", variances="variances", k_probs="k_probs",
                acf="autocorrelogram", time_course="firing_average_time_course", lag_cov="lag_cov_mat")
    for which, file in (("real", "real_retina_windows_0_1024.npy"), ("model", "model_k_pairwise_windows_0_1024.npy")):
        st = stats(np.load(f"{fixtures}/{file}"))
        for ours, theirs in keys.items():
            np.testing.assert_allclose(st[ours], np.array(golden[which][theirs]), rtol=1e-9, atol=1e-12, err_msg=ours)


def sliding(data, T):
    """All bins - T + 1 sliding windows as a [n, N, T] view."""
    return np.lib.stride_tricks.sliding_window_view(data, T, axis=0)


def blocks(data, T, n):
    return data[: n * T].reshape(n, T, data.shape[1]).transpose(0, 2, 1)


def main():
    shared = sys.argv[1]
    check_golden(f"{shared}/fixtures/stats_golden")
    d = f"{shared}/datasets/retina50"
    t0 = time.perf_counter()
    real = sio.loadmat(f"{d}/original_data_num_neurons_50_1.mat")["data"].astype(np.uint8)
    load_s = time.perf_counter() - t0
    X = sliding(real, 32)
    t0 = time.perf_counter()
    ref = stats(X)
    stats_s = time.perf_counter() - t0
    fig3 = {}
    for name, file, key in (("k_pairwise", "k_pairwise_num_neurons_50_1.mat", "samples_batch_all"), ("DG", "DG_num_neurons_50_1.mat", "data")):
        m = sio.loadmat(f"{d}/{file}")[key].astype(np.uint8)
        fig3[name] = errors(stats(blocks(m, 32, 8192)), ref)
    print(json.dumps(dict(golden_check="passed", windows=X.shape[0], numpy=np.__version__, scipy_loadmat_s=load_s,
                          numpy_paper_stats_sliding_s=stats_s, fig3_errors=fig3)))


if __name__ == "__main__":
    main()
