//! [`SpikeTrains`]: spike times of several units, as NWB stores them.

use crate::error::Result;
use crate::raster::DataOrigin;

/// The spikes of one unit.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitTrain {
    /// Unit identifier (NWB `id` column).
    pub id: i64,
    /// Spike times in seconds, sorted ascending, finite and non-negative.
    pub spike_times_s: Vec<f64>,
    /// Observation intervals `[start, stop)` in seconds; empty when the file gives none.
    pub obs_intervals_s: Vec<(f64, f64)>,
}

/// Spike times of several units. Invariant (checked by [`SpikeTrains::new`]): every unit's spike
/// times are finite, non-negative and sorted; observation intervals have `start <= stop`.
/// A unit without spikes is kept: silent neurons are real.
#[derive(Clone, Debug, PartialEq)]
pub struct SpikeTrains {
    units: Vec<UnitTrain>,
    /// File and table the trains were read from.
    pub origin: DataOrigin,
}

impl SpikeTrains {
    /// Validated spike trains.
    pub fn new(units: Vec<UnitTrain>, origin: DataOrigin) -> Result<Self> {
        if units.is_empty() {
            return Err(origin.shape_error("no units".into()));
        }
        for u in &units {
            if let Some(i) = u.spike_times_s.iter().position(|t| !t.is_finite() || *t < 0.0) {
                return Err(origin.values_error(format!(
                    "unit {}: spike time {} at position {i} is negative or not finite",
                    u.id, u.spike_times_s[i]
                )));
            }
            if let Some(i) = u.spike_times_s.windows(2).position(|w| w[1] < w[0]) {
                return Err(origin.values_error(format!(
                    "unit {}: spike times are not sorted (position {}: {} after {})",
                    u.id,
                    i + 1,
                    u.spike_times_s[i + 1],
                    u.spike_times_s[i]
                )));
            }
            if let Some((a, b)) = u
                .obs_intervals_s
                .iter()
                .find(|(a, b)| !(a.is_finite() && b.is_finite() && a <= b))
            {
                return Err(origin.values_error(format!("unit {}: invalid observation interval [{a}, {b}]", u.id)));
            }
        }
        Ok(SpikeTrains { units, origin })
    }

    /// The units, in file order.
    pub fn units(&self) -> &[UnitTrain] {
        &self.units
    }

    /// Keep only the units whose ids are listed, in the order listed. Unknown ids are an error
    /// that lists the ids present.
    pub fn select(self, ids: &[i64]) -> Result<Self> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            match self.units.iter().find(|u| u.id == *id) {
                Some(u) => out.push(u.clone()),
                None => {
                    let present: Vec<String> = self.units.iter().map(|u| u.id.to_string()).collect();
                    return Err(self
                        .origin
                        .values_error(format!("no unit with id {id} (ids present: {})", present.join(", "))));
                }
            }
        }
        SpikeTrains::new(out, self.origin)
    }

    /// Total number of spikes.
    pub fn total_spikes(&self) -> usize {
        self.units.iter().map(|u| u.spike_times_s.len()).sum()
    }

    /// Earliest observation-interval start, if any unit has intervals.
    pub fn obs_start_s(&self) -> Option<f64> {
        self.units
            .iter()
            .flat_map(|u| u.obs_intervals_s.iter().map(|i| i.0))
            .reduce(f64::min)
    }

    /// Latest observation-interval end, if any unit has intervals.
    pub fn obs_stop_s(&self) -> Option<f64> {
        self.units
            .iter()
            .flat_map(|u| u.obs_intervals_s.iter().map(|i| i.1))
            .reduce(f64::max)
    }

    /// First and last spike time over all units, if there is any spike.
    pub fn spike_span_s(&self) -> Option<(f64, f64)> {
        let first = self
            .units
            .iter()
            .filter_map(|u| u.spike_times_s.first().copied())
            .reduce(f64::min)?;
        let last = self
            .units
            .iter()
            .filter_map(|u| u.spike_times_s.last().copied())
            .reduce(f64::max)?;
        Some((first, last))
    }
}
