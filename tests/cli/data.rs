//! `spikegan data ...` and `spikegan simulate ...`.

use std::path::Path;

use spike_data::io::{self, SpikeData};
use spike_data::{DataOrigin, SpikeRaster, SpikeTrains, UnitTrain};

use crate::{fails, ok, raster_of, read, retina, s, shared, simulate_uniform, spikegan};

#[test]
fn info_describes_the_retina_recording() {
    let out = ok(&["data", "info", s(&retina())]);
    assert!(out.contains("MATLAB v5 MAT-file"), "{out}");
    assert!(out.contains("variable:      data (raster)"), "{out}");
    assert!(out.contains("283041 bins x 50 neurons"), "{out}");
    // Bin width comes from the registry (matched by sha256): 20 ms.
    assert!(out.contains("Hz (bin width 20 ms)"), "{out}");
    let r = raster_of(&retina());
    assert!(out.contains(&format!("total spikes:  {}", r.total_spikes())), "{out}");
    let silent = r
        .counts()
        .chunks_exact(50)
        .filter(|row| row.iter().all(|&c| c == 0))
        .count();
    assert!(out.contains(&format!("silent bins:   {silent} of 283041")), "{out}");
}

#[test]
fn wrong_key_lists_the_variables_present() {
    let e = fails(&["data", "info", s(&retina()), "--key", "spikes"]);
    assert!(
        e.contains("original_data_num_neurons_50_1.mat: no variable/dataset 'spikes' (present: data)"),
        "{e}"
    );
    let k = shared().join("retina50/k_pairwise_num_neurons_50_1.mat");
    assert!(ok(&["data", "info", s(&k), "--key", "samples_batch_all"]).contains("283032 bins x 50 neurons"));
}

#[test]
fn corrupt_and_truncated_files_give_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(retina()).unwrap();
    for (name, len) in [
        ("head.mat", 100),
        ("half.mat", bytes.len() / 2),
        ("tail.mat", bytes.len() - 7),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, &bytes[..len]).unwrap();
        let e = fails(&["data", "info", s(&p)]);
        assert!(
            e.contains(name) && (e.contains("corrupt") || e.contains("truncated")),
            "{e}"
        );
    }
    let h5 = dir.path().join("r.h5");
    ok(&["data", "convert", s(&retina()), s(&h5)]);
    let hb = std::fs::read(&h5).unwrap();
    let cut = dir.path().join("cut.h5");
    std::fs::write(&cut, &hb[..hb.len() / 3]).unwrap();
    let e = fails(&["data", "info", s(&cut)]);
    assert!(e.contains("cut.h5"), "{e}");
    let empty = dir.path().join("empty.mat");
    std::fs::write(&empty, b"").unwrap();
    assert!(fails(&["data", "info", s(&empty)]).contains("empty"));
    let text = dir.path().join("notes.mat");
    std::fs::write(&text, b"these are not spikes at all").unwrap();
    assert!(fails(&["data", "info", s(&text)]).contains("unrecognised format"));
    // The OS's reason is said once, after the file's name.
    let missing = dir.path().join("missing.mat");
    let e = fails(&["data", "info", s(&missing)]);
    assert!(e.contains("missing.mat: ") && e.matches("os error").count() == 1, "{e}");
}

#[test]
fn conversions_round_trip_through_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let original = raster_of(&retina());
    let mut prev = retina();
    for name in ["a.npy", "b.h5", "c.mat", "d.npy"] {
        let next = dir.path().join(name);
        ok(&["data", "convert", s(&prev), s(&next)]);
        let r = raster_of(&next);
        assert_eq!((r.n_bins(), r.n_neurons()), (283041, 50), "{name}");
        assert_eq!(r.counts(), original.counts(), "{name}");
        prev = next;
    }
    // MAT v7.3 (HDF5 with a user block, column-major) reads back transposed correctly.
    let mut small = SpikeRaster::new(vec![0, 1, 2, 3, 4, 5], 3, 2).unwrap();
    small.bin_width_ms = Some(5.0);
    let v73 = dir.path().join("v73.mat");
    io::write_mat73(&v73, "spikes", &small).unwrap();
    let out = ok(&["data", "info", s(&v73)]);
    assert!(
        out.contains("MATLAB v7.3") && out.contains("3 bins x 2 neurons") && out.contains("variable:      spikes"),
        "{out}"
    );
    assert_eq!(raster_of(&v73).counts(), small.counts());
    assert!(fails(&["data", "info", s(&v73), "--key", "x"]).contains("present: spikes"));
}

fn write_npy_f64(path: &Path, shape: &[usize], values: &[f64]) {
    let shape_txt = shape.iter().map(|d| format!("{d},")).collect::<String>();
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({shape_txt}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn npy_values_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.npy");
    write_npy_f64(&good, &[3, 2], &[0.0, 1.0, 1.0, 0.0, 2.0, 0.0]);
    assert!(ok(&["data", "info", s(&good)]).contains("3 bins x 2 neurons"));
    let nan = dir.path().join("nan.npy");
    write_npy_f64(&nan, &[3, 2], &[0.0, 1.0, f64::NAN, 0.0, -1.0, 0.0]);
    let e = fails(&["data", "info", s(&nan)]);
    assert!(
        e.contains("nan.npy") && e.contains("2 value(s) are not spike counts") && e.contains("first at index [1, 0]"),
        "{e}"
    );
    let empty = dir.path().join("empty.npy");
    write_npy_f64(&empty, &[0, 5], &[]);
    assert!(fails(&["data", "info", s(&empty)]).contains("empty"));
    // Counts > 1 are fine in a raster, but not where binary samples are needed.
    let out = dir.path().join("w.h5");
    let e = fails(&["data", "windows", s(&good), "--window", "2", "--out", s(&out)]);
    assert!(
        e.contains("binary (0/1) data required but 1 value(s) are > 1; first at bin 2, neuron 0: 2"),
        "{e}"
    );
    let long = fails(&["data", "windows", s(&good), "--window", "4", "--out", s(&out)]);
    assert!(
        long.contains("window of 4 bins is longer than the recording (3 bins)"),
        "{long}"
    );
    assert!(!out.exists());
}

#[test]
fn windows_of_the_retina() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("w.h5");
    let msg = ok(&[
        "data",
        "windows",
        s(&retina()),
        "--window",
        "32",
        "--stride",
        "32",
        "--out",
        s(&out),
    ]);
    assert!(msg.contains("8845 samples x 50 neurons x 32 bins"), "{msg}");
    let raster = raster_of(&retina());
    let SpikeData::Samples(set) = read(&out) else {
        panic!("samples expected")
    };
    assert_eq!((set.n_samples(), set.n_neurons(), set.n_bins()), (8845, 50, 32));
    for (smp, n, t) in [(0, 0, 0), (7, 13, 31), (8844, 49, 5)] {
        assert_eq!(set.get(smp, n, t), raster.get(smp * 32 + t, n));
    }
    assert_eq!(set.bin_width_ms, None);

    // 100 random sliding windows: each is the window at some start, starts differ, seeded.
    let random = dir.path().join("r.npy");
    let args = |seed: &'static str| {
        vec![
            "data",
            "windows",
            s(&retina()),
            "--window",
            "32",
            "--stride",
            "1",
            "--random",
            "100",
            "--seed",
            seed,
            "--out",
            s(&random),
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>()
    };
    let run = |seed| {
        let a = args(seed);
        ok(&a.iter().map(String::as_str).collect::<Vec<_>>());
        let SpikeData::Samples(set) = read(&random) else {
            panic!("samples expected")
        };
        set.to_owned_values()
    };
    let (first, again, other) = (run("3"), run("3"), run("4"));
    assert_eq!(first, again);
    assert_ne!(first, other);
    assert_eq!(first.len(), 100 * 50 * 32);
    let SpikeData::Samples(set) = read(&random) else {
        panic!("samples expected")
    };
    let sliding = raster.n_bins() - 31;
    let mut starts = Vec::new();
    for k in 0..10 {
        let start = (0..sliding).find(|&b| (0..50).all(|n| (0..32).all(|t| set.get(k, n, t) == raster.get(b + t, n))));
        starts.extend(start);
    }
    assert_eq!(starts.len(), 10, "every random window is a window of the recording");
    let e = fails(&[
        "data",
        "windows",
        s(&retina()),
        "--window",
        "32",
        "--random",
        "9000",
        "--out",
        s(&random),
    ]);
    assert!(e.contains("8845 windows"), "{e}");
}

fn nwb_trains() -> SpikeTrains {
    let units = vec![
        UnitTrain {
            id: 7,
            spike_times_s: vec![0.0, 0.019, 0.02, 0.06, 0.5],
            obs_intervals_s: vec![(0.0, 0.1)],
        },
        UnitTrain {
            id: 9,
            spike_times_s: vec![],
            obs_intervals_s: vec![(0.0, 0.1)],
        },
        UnitTrain {
            id: 3,
            spike_times_s: vec![0.041, 0.0999],
            obs_intervals_s: vec![(0.0, 0.05), (0.09, 0.1)],
        },
    ];
    SpikeTrains::new(units, DataOrigin::default()).unwrap()
}

#[test]
fn nwb_units_are_binned() {
    let dir = tempfile::tempdir().unwrap();
    let nwb = dir.path().join("session.nwb");
    io::write_nwb_units(&nwb, &nwb_trains()).unwrap();
    let info = ok(&["data", "info", s(&nwb)]);
    assert!(
        info.contains("NWB 2.x") && info.contains("units:         3") && info.contains("silent units:  1 of 3"),
        "{info}"
    );
    let out = dir.path().join("raster.h5");
    let msg = ok(&["data", "bin", s(&nwb), "--bin-ms", "20", "--out", s(&out)]);
    assert!(
        msg.contains("5 bins x 3 units") && msg.contains("1 outside observation intervals"),
        "{msg}"
    );
    let r = raster_of(&out);
    assert_eq!(r.bin_width_ms, Some(20.0));
    assert_eq!(r.t_start_s, Some(0.0));
    assert_eq!(r.unit_ids(), Some(&[7, 9, 3][..]));
    let col = |n: usize| (0..5).map(|b| r.get(b, n)).collect::<Vec<_>>();
    assert_eq!(col(0), vec![2, 1, 0, 1, 0]); // 0.06 s sits on the edge of bin 3
    assert_eq!(col(1), vec![0; 5]); // a silent unit is kept
    assert_eq!(col(2), vec![0, 0, 1, 0, 1]);
    // Unit selection, binary clipping, and other output formats.
    let npy = dir.path().join("r.npy");
    ok(&[
        "data",
        "bin",
        s(&nwb),
        "--bin-ms",
        "20",
        "--units",
        "3,7",
        "--binary",
        "--out",
        s(&npy),
    ]);
    let rb = raster_of(&npy);
    assert_eq!((0..5).map(|b| rb.get(b, 1)).collect::<Vec<_>>(), vec![1, 1, 0, 1, 0]);
    let e = fails(&[
        "data",
        "bin",
        s(&nwb),
        "--bin-ms",
        "20",
        "--units",
        "4",
        "--out",
        s(&npy),
    ]);
    assert!(e.contains("no unit with id 4 (ids present: 7, 9, 3)"), "{e}");
    for bad in ["0", "-20"] {
        let e = fails(&["data", "bin", s(&nwb), "--bin-ms", bad, "--out", s(&npy)]);
        assert!(e.contains("--bin-ms"), "{e}");
    }
}

/// Write a Units table by hand (bypassing validation) at `group` with the given columns.
fn raw_nwb(path: &Path, group: &str, times: &[f64], index: &[u32]) {
    let f = hdf5::File::create(path).unwrap();
    let tag = |loc: &hdf5::Location, v: &str| {
        let v: hdf5::types::VarLenUnicode = v.parse().unwrap();
        loc.new_attr::<hdf5::types::VarLenUnicode>()
            .create("neurodata_type")
            .unwrap()
            .write_scalar(&v)
            .unwrap();
    };
    tag(&f, "NWBFile");
    let g = group
        .split('/')
        .fold((*f).clone(), |g: hdf5::Group, part| g.create_group(part).unwrap());
    tag(&g, "Units");
    g.new_dataset_builder().with_data(times).create("spike_times").unwrap();
    g.new_dataset_builder()
        .with_data(index)
        .create("spike_times_index")
        .unwrap();
    let ids: Vec<i32> = (0..index.len() as i32).collect();
    g.new_dataset_builder().with_data(&ids[..]).create("id").unwrap();
}

#[test]
fn nwb_tables_are_found_and_validated() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("proc.nwb");
    // A Units table under /processing, with a u32 index.
    raw_nwb(&p, "processing/sorted", &[0.1, 0.2, 0.3], &[2, 3]);
    let info = ok(&["data", "info", s(&p)]);
    assert!(
        info.contains("/processing/sorted") && info.contains("units:         2"),
        "{info}"
    );
    let cases: [(&str, &[f64], &[u32], &str); 4] = [
        ("unsorted.nwb", &[0.2, 0.1, 0.3], &[2, 3], "not sorted"),
        ("negative.nwb", &[-0.1, 0.1, 0.3], &[2, 3], "negative"),
        ("past.nwb", &[0.1, 0.2, 0.3], &[2, 5], "past the end of spike_times"),
        ("decreasing.nwb", &[0.1, 0.2, 0.3], &[2, 1], "index decreases"),
    ];
    for (name, times, index, what) in cases {
        let q = dir.path().join(name);
        raw_nwb(&q, "units", times, index);
        let e = fails(&["data", "info", s(&q)]);
        assert!(e.contains(name) && e.contains(what), "{name}: {e}");
    }
}

#[test]
fn simulate_writes_deterministic_samples_and_truth() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.h5"), dir.path().join("b.npy"));
    let args = |out: &Path| {
        [
            "simulate",
            "uniform",
            "--neurons",
            "16",
            "--bins",
            "128",
            "--samples",
            "64",
            "--rate",
            "0.25",
            "--corr",
            "0.3",
            "--group",
            "2",
            "--refractory",
            "2",
            "--seed",
            "1",
            "--out",
            s(out),
        ]
        .map(str::to_string)
    };
    let run = |out: &Path| ok(&args(out).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(run(&a).contains("64 samples x 16 neurons x 128 bins"));
    run(&b);
    let (SpikeData::Samples(x), SpikeData::Samples(y)) = (read(&a), read(&b)) else {
        panic!("samples expected")
    };
    assert_eq!(x.to_owned_values(), y.to_owned_values());
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("a.truth.json")).unwrap()).unwrap();
    assert_eq!(truth["permutation"].as_array().unwrap().len(), 16);
    let p = dir.path().join("p.h5");
    ok(&[
        "simulate",
        "two-mode",
        "--neurons",
        "32",
        "--bins",
        "32",
        "--group",
        "18",
        "--rate",
        "0.05",
        "--samples",
        "16",
        "--out",
        s(&p),
    ]);
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("p.truth.json")).unwrap()).unwrap();
    assert_eq!(truth["stimulus"].as_array().unwrap().len(), 16);
    assert!(fails(&["simulate", "uniform", "--group", "3", "--out", s(&a)]).contains("--group"));
}

#[test]
fn registry_verification_accepts_the_shared_data_and_rejects_a_corrupt_copy() {
    let out = ok(&["data", "verify", "--dir", s(&shared())]);
    assert!(out.contains("5 of 5 files verified"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("retina50")).unwrap();
    let mut bytes = std::fs::read(retina()).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(dir.path().join("retina50/original_data_num_neurons_50_1.mat"), bytes).unwrap();
    let o = spikegan(&["data", "verify", "--dir", s(dir.path()), "retina50"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("CORRUPT   retina50") && text.contains("MISSING   retina50"),
        "{text}"
    );
    assert!(ok(&["data", "list"]).contains("retina50"));
}

#[test]
fn a_closed_pipe_ends_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_spikegan"))
        .args(["data", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read nothing and close our end before the tool prints, as `| head -0` would.
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "exit {status}: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A matrix with more columns than rows is probably neurons x bins: reading it warns, and
/// `data convert --transpose` writes it the right way round.
#[test]
fn a_neurons_by_bins_matrix_is_flagged_and_can_be_transposed() {
    let dir = tempfile::tempdir().unwrap();
    let wide = dir.path().join("wide.npy");
    let values: Vec<u8> = (0..4 * 30).map(|k| u8::from(k % 3 == 0 || k % 7 == 0)).collect();
    io::write_raster(&wide, &SpikeRaster::new(values, 4, 30).unwrap()).unwrap();
    let out = spikegan(&["data", "info", s(&wide)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.contains("4 rows and 30 columns") && stderr.contains("--transpose"));
    let fixed = dir.path().join("fixed.npy");
    ok(&["data", "convert", s(&wide), s(&fixed), "--transpose"]);
    let (before, after) = (raster_of(&wide), raster_of(&fixed));
    assert_eq!((after.n_bins(), after.n_neurons()), (30, 4));
    for (bin, neuron) in [(0, 0), (29, 3), (11, 2)] {
        assert_eq!(after.get(bin, neuron), before.get(neuron, bin));
    }
    let out = spikegan(&["data", "info", s(&fixed)]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("transpose"));
    let sim = dir.path().join("sim.npy");
    simulate_uniform(&sim, 4, 8, 5, 1);
    let e = fails(&["data", "convert", s(&sim), s(&fixed), "--transpose"]);
    assert!(e.contains("sim.npy") && e.contains("applies to a 2-D matrix"), "{e}");
}
