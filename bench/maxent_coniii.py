"""ConIII (Lee & Daniels 2019), the Python tool users fit maximum-entropy models with today,
side by side with spikegan-rs on the same data: `cargo xtask bench maxent` runs it.

Fits a pairwise (Ising) model to the first N neurons of a binary raster with ConIII's
pseudolikelihood solver (`Pseudo`, its fast method) and its exact solver (`Enumerate`, which needs Python source
that ConIII generates per N: 6.8 MB for N = 12), timing each fit. Then it scores
every model, ours (a `spikegan fit pairwise` JSON, {0,1} basis) and ConIII's ({-1,+1} basis),
the same way: the model's exact rates and pair means E[s_i s_j] by enumerating all 2^N patterns,
against the data's, in units of the data's standard errors sqrt(m (1 - m) / bins).

Each ConIII fit gets at most <limit> seconds (default 300); one that runs out is reported as such.

usage: python3 maxent_coniii.py <raster .mat/.npy> <neurons N> <our model .json> [limit s]
       -> one JSON object on stdout
"""
import importlib.util
import json
import signal
import sys
import time

import numpy as np


def load(path, n):
    if path.endswith('.npy'):
        x = np.load(path)
    else:
        import scipy.io as sio
        m = sio.loadmat(path)
        x = next(v for k, v in m.items() if not k.startswith('__'))
    if x.shape[0] < x.shape[1]:
        x = x.T
    return np.ascontiguousarray(x[:, :n]).astype(np.int8)


def patterns(n):
    idx = np.arange(2 ** n, dtype=np.int64)
    return ((idx[:, None] >> np.arange(n)) & 1).astype(np.float64)  # [2^n, n] in {0,1}


def moments01(fields, couplings, s):
    """Exact rates and pair means of p(s) ~ exp(h.s + sum_{i<j} J_ij s_i s_j), s in {0,1}."""
    logw = s @ fields + 0.5 * np.einsum('ki,ij,kj->k', s, couplings, s)
    w = np.exp(logw - logw.max())
    p = w / w.sum()
    return p @ s, (s * p[:, None]).T @ s


def score(rates, pairs, x):
    """RMS and max |z| of rates and pair means against the data's."""
    m = x.mean(0)
    mm = (x.T.astype(np.float64) @ x) / len(x)
    iu = np.triu_indices(x.shape[1], 1)
    zr = (rates - m) / np.sqrt(np.maximum(m * (1 - m), 1e-12) / len(x))
    d = mm[iu]
    zp = (pairs[iu] - d) / np.sqrt(np.maximum(d * (1 - d), 1e-12) / len(x))
    return {
        'rates_rms_z': float(np.sqrt(np.mean(zr ** 2))),
        'pairs_rms_z': float(np.sqrt(np.mean(zp ** 2))),
        'max_abs_z': float(max(np.abs(zr).max(), np.abs(zp).max())),
        'max_abs_residual': float(max(np.abs(rates - m).max(), np.abs(pairs[iu] - d).max())),
    }


def spin_to_01(multipliers, n):
    """ConIII's Ising: p(sigma) ~ exp(sum h_i sigma_i + sum_{i<j} J_ij sigma_i sigma_j), sigma = 2s - 1."""
    h, jv = multipliers[:n], multipliers[n:]
    jm = np.zeros((n, n))
    jm[np.triu_indices(n, 1)] = jv
    jm = jm + jm.T
    return 2 * h - 2 * jm.sum(1), 4 * jm


def main():
    path, n, ours = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else 300
    x = load(path, n)
    s = patterns(n)
    out = {'neurons': n, 'bins': len(x)}
    with open(ours) as f:
        model = json.load(f)['fit']
    fields = np.array(model['model']['fields'])
    couplings = np.array(model['model']['couplings']).reshape(n, n)
    out['spikegan'] = {'seconds': model['diagnostics']['seconds'], **score(*moments01(fields, couplings, s), x)}

    import coniii
    sigma = 2 * x - 1

    def on_alarm(signum, frame):
        raise TimeoutError(f'did not finish within {limit} s')

    signal.signal(signal.SIGALRM, on_alarm)
    for name, solver in [('coniii_pseudo', coniii.Pseudo), ('coniii_enumerate', coniii.Enumerate)]:
        if solver is coniii.Enumerate and importlib.util.find_spec(f'coniii.ising_eqn.ising_eqn_{n}_sym') is None:
            out[name] = {'error': f'ConIII has no enumeration equations for N = {n} '
                                  f'(its enumerate.py writes them: python enumerate.py {n} 1 in its package folder)'}
            continue
        t = time.perf_counter()
        signal.alarm(limit)
        try:
            mult = solver(sigma, iprint=False).solve()
            seconds = time.perf_counter() - t
            signal.alarm(0)
            out[name] = {'seconds': seconds, **score(*moments01(*spin_to_01(mult, n), s), x)}
        except Exception as e:  # a timeout, or a failure inside ConIII
            signal.alarm(0)
            out[name] = {'error': f'{type(e).__name__}: {e}'[:200], 'seconds': time.perf_counter() - t}
    out['coniii_version'] = getattr(coniii, '__version__', 'unknown')
    print(json.dumps(out))


if __name__ == '__main__':
    main()
