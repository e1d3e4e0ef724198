//! Binning spike times into a [`SpikeRaster`].
//!
//! # Edge semantics
//! Bins are half-open: bin `k` covers `[t0 + k*w, t0 + (k+1)*w)` (w = bin width in seconds). A
//! spike exactly on an edge belongs to the later bin, also when floating-point arithmetic says
//! otherwise: with 20 ms bins a spike at 0.06 s is in bin 3, although `0.06 / 0.02 =
//! 2.9999999999999996`. To that end a spike less than [`EDGE_TOLERANCE_BINS`] (1e-9) bin widths
//! below an edge counts as on it: far below any recording's timestamp resolution.
//!
//! `t0` is `--t-start` when given, else the earliest observation-interval start, else 0. The end is
//! `--t-stop` when given, else the latest observation-interval end, else just after the last
//! spike. The raster has the smallest number of bins whose last edge is at or after the end, and
//! at least the bin holding the last spike when the end comes from the spikes.
//! Observation intervals are half-open `[start, stop)` too: spikes outside every interval of their
//! unit are dropped (counted in [`BinReport`], logged). Spikes outside `[t0, end)` are dropped the
//! same way. Counts above 255 are an error unless `binary` is set, which clips every count to 1.

use rayon::prelude::*;

use crate::error::{DataError, Result};
use crate::raster::SpikeRaster;
use crate::trains::SpikeTrains;

/// How to bin spike trains.
#[derive(Clone, Debug, PartialEq)]
pub struct BinParams {
    /// Bin width in milliseconds (> 0).
    pub bin_width_ms: f64,
    /// Left edge of bin 0 in seconds; default: earliest observation start, else 0.
    pub t_start_s: Option<f64>,
    /// End of the binned range in seconds; default: latest observation end, else the last spike.
    pub t_stop_s: Option<f64>,
    /// Clip counts to 1.
    pub binary: bool,
}

/// What binning dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BinReport {
    /// Spikes outside their unit's observation intervals.
    pub dropped_outside_obs: usize,
    /// Spikes before t0 or at/after the end.
    pub dropped_outside_range: usize,
    /// Bins where a count above 1 was clipped to 1 (`binary` only).
    pub clipped_bins: usize,
}

/// Tolerance, in bin widths, below an edge within which a spike counts as on the edge.
pub const EDGE_TOLERANCE_BINS: f64 = 1e-9;

/// Index of the bin holding `t` (at or after `t0`): `floor((t - t0) / w + 1e-9)`, so a spike
/// exactly on an edge, or within floating-point noise below it, belongs to the later bin.
#[inline]
pub fn bin_index(t: f64, t0: f64, w: f64) -> usize {
    ((t - t0) / w + EDGE_TOLERANCE_BINS).floor().max(0.0) as usize
}

/// Bin spike trains into a raster with one column per unit, in unit order.
pub fn bin_trains(trains: &SpikeTrains, params: &BinParams) -> Result<(SpikeRaster, BinReport)> {
    let w_ms = params.bin_width_ms;
    if !(w_ms.is_finite() && w_ms > 0.0) {
        return Err(DataError::param(
            "--bin-ms",
            format!("bin width must be a positive number of milliseconds, got {w_ms}"),
        ));
    }
    let w = w_ms / 1000.0;
    let t0 = params.t_start_s.or(trains.obs_start_s()).unwrap_or(0.0);
    let span = trains.spike_span_s();
    let (end, end_from_spikes) = match (params.t_stop_s, trains.obs_stop_s(), span) {
        (Some(t), _, _) => (t, false),
        (None, Some(t), _) => (t, false),
        (None, None, Some((_, last))) => (last, true),
        (None, None, None) => {
            return Err(trains
                .origin
                .shape_error("no spikes and no observation intervals: give --t-stop to set the binned range".into()));
        }
    };
    if !(t0.is_finite() && end.is_finite()) || end < t0 || (end == t0 && !end_from_spikes) {
        return Err(DataError::param(
            "--t-start/--t-stop",
            format!("empty or invalid time range [{t0}, {end})"),
        ));
    }
    // Smallest n whose last edge t0 + n*w is at or after the end (up to the edge tolerance);
    // one more when the end is the last spike, which must fall inside.
    let x = (end - t0) / w;
    let mut n_bins = (x - EDGE_TOLERANCE_BINS).ceil().max(0.0) as usize;
    if end_from_spikes {
        n_bins = bin_index(end, t0, w) + 1;
    }
    let n_units = trains.units().len();
    // One column of counts per unit, in parallel; spikes outside the unit's observation
    // intervals or the binned range are counted, not binned.
    let columns: Vec<(Vec<u32>, usize, usize)> = trains
        .units()
        .par_iter()
        .map(|unit| {
            let mut column = vec![0u32; n_bins];
            let (mut outside_obs, mut outside_range) = (0, 0);
            let obs = &unit.obs_intervals_s;
            for &t in &unit.spike_times_s {
                if !obs.is_empty() && !obs.iter().any(|&(a, b)| a <= t && t < b) {
                    outside_obs += 1;
                    continue;
                }
                let k = bin_index(t, t0, w);
                if t < t0 || k >= n_bins {
                    outside_range += 1;
                } else {
                    column[k] += 1;
                }
            }
            (column, outside_obs, outside_range)
        })
        .collect();
    let mut report = BinReport {
        dropped_outside_obs: columns.iter().map(|c| c.1).sum(),
        dropped_outside_range: columns.iter().map(|c| c.2).sum(),
        clipped_bins: 0,
    };
    let t_end = t0 + n_bins as f64 * w;
    if report.dropped_outside_obs > 0 {
        tracing::info!(
            dropped = report.dropped_outside_obs,
            "spikes outside their unit's observation intervals dropped"
        );
    }
    if report.dropped_outside_range > 0 {
        tracing::info!(
            dropped = report.dropped_outside_range,
            t0,
            t_end,
            "spikes outside the binned range dropped"
        );
    }
    let mut out = vec![0u8; n_bins * n_units];
    for (b, row) in out.chunks_exact_mut(n_units).enumerate() {
        for (u, o) in row.iter_mut().enumerate() {
            let c = columns[u].0[b];
            if params.binary {
                report.clipped_bins += usize::from(c > 1);
                *o = c.min(1) as u8;
            } else if c > 255 {
                return Err(trains.origin.values_error(format!(
                    "unit {} has {c} spikes in bin {b} (more than 255): use a smaller --bin-ms or --binary",
                    trains.units()[u].id
                )));
            } else {
                *o = c as u8;
            }
        }
    }
    let mut raster = SpikeRaster::with_origin(out, n_bins, n_units, trains.origin.clone())?;
    raster.bin_width_ms = Some(w_ms);
    raster.t_start_s = Some(t0);
    raster.set_unit_ids(trains.units().iter().map(|u| u.id).collect())?;
    Ok((raster, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::DataOrigin;
    use crate::trains::UnitTrain;

    /// Spike times and observation intervals of one unit.
    type Unit = (Vec<f64>, Vec<(f64, f64)>);

    fn trains(units: Vec<Unit>) -> SpikeTrains {
        let units = units
            .into_iter()
            .enumerate()
            .map(|(i, (s, o))| UnitTrain {
                id: i as i64 * 10,
                spike_times_s: s,
                obs_intervals_s: o,
            })
            .collect();
        SpikeTrains::new(units, DataOrigin::default()).unwrap()
    }

    fn params(ms: f64) -> BinParams {
        BinParams {
            bin_width_ms: ms,
            t_start_s: None,
            t_stop_s: None,
            binary: false,
        }
    }

    #[test]
    fn floating_point_edges_go_to_the_later_bin() {
        assert_eq!(bin_index(0.06, 0.0, 0.02), 3);
        assert_eq!(bin_index(0.059999, 0.0, 0.02), 2);
        assert_eq!(bin_index(0.3, 0.0, 0.1), 3);
        assert_eq!(bin_index(0.7, 0.1, 0.2), 3);
        for k in 0..10_000usize {
            let edge = k as f64 * 0.02;
            assert_eq!(bin_index(edge, 0.0, 0.02), k, "edge {edge}");
        }
    }

    #[test]
    fn bins_are_half_open_and_end_at_last_spike() {
        let t = trains(vec![(vec![0.0, 0.019, 0.02, 0.06], vec![]), (vec![], vec![])]);
        // 0.0 and 0.019 in bin 0, 0.02 on the edge of bin 1, 0.06 on the edge of bin 3.
        let (r, rep) = bin_trains(&t, &params(20.0)).unwrap();
        assert_eq!(r.n_bins(), 4);
        assert_eq!(r.n_neurons(), 2);
        assert_eq!((0..4).map(|b| r.get(b, 0)).collect::<Vec<_>>(), vec![2, 1, 0, 1]);
        assert_eq!((0..4).map(|b| r.get(b, 1)).collect::<Vec<_>>(), vec![0, 0, 0, 0]);
        assert_eq!(r.unit_ids(), Some(&[0, 10][..]));
        assert_eq!(rep, BinReport::default());
    }

    #[test]
    fn observation_intervals_set_range_and_drop_spikes() {
        let t = trains(vec![
            (vec![0.5, 1.0, 1.05, 2.0], vec![(1.0, 2.0)]),
            (vec![1.5, 2.9], vec![(1.0, 3.0)]),
        ]);
        let (r, rep) = bin_trains(&t, &params(100.0)).unwrap();
        assert_eq!(r.t_start_s, Some(1.0));
        assert_eq!(r.n_bins(), 20);
        assert_eq!(rep.dropped_outside_obs, 2); // 0.5 and 2.0 (stop is exclusive)
        assert_eq!(r.get(0, 0), 2);
        assert_eq!(r.get(5, 1), 1);
        assert_eq!(r.get(19, 1), 1);
        assert_eq!(r.total_spikes(), 4);
    }

    #[test]
    fn explicit_range_counts_and_binary() {
        let t = trains(vec![(vec![0.001, 0.002, 0.003, 0.5], vec![])]);
        let p = BinParams {
            bin_width_ms: 10.0,
            t_start_s: Some(0.0),
            t_stop_s: Some(0.1),
            binary: false,
        };
        let (r, rep) = bin_trains(&t, &p).unwrap();
        assert_eq!(r.n_bins(), 10);
        assert_eq!(r.get(0, 0), 3);
        assert_eq!(rep.dropped_outside_range, 1);
        let (rb, repb) = bin_trains(&t, &BinParams { binary: true, ..p }).unwrap();
        assert_eq!(rb.get(0, 0), 1);
        assert_eq!(repb.clipped_bins, 1);
    }

    #[test]
    fn rejects_bad_widths_and_overfull_bins() {
        let t = trains(vec![(vec![0.1], vec![])]);
        for w in [0.0, -20.0, f64::NAN] {
            let e = bin_trains(&t, &params(w)).unwrap_err().to_string();
            assert!(e.contains("--bin-ms"), "{e}");
        }
        let many = trains(vec![((0..300).map(|i| i as f64 * 1e-5).collect(), vec![])]);
        let e = bin_trains(&many, &params(20.0)).unwrap_err().to_string();
        assert!(e.contains("300 spikes in bin 0"), "{e}");
        assert_eq!(
            bin_trains(
                &many,
                &BinParams {
                    binary: true,
                    ..params(20.0)
                }
            )
            .unwrap()
            .0
            .get(0, 0),
            1
        );
    }
}
