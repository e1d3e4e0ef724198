//! Tests of the reproduction's verdicts and step cache.

use super::*;
use crate::experiments::{NOISE_FLOOR, fig3_verdicts};

fn row(label: &str, cov: f64, k: f64) -> (String, Value) {
    let mut v =
        json!({"mean": 0.5, "variance": 0.01, "autocorrelogram": 1.0, "lag_covariance": 1.0, "time_course": 2.0});
    v["covariance"] = json!(cov);
    v["k_probabilities"] = json!(k);
    (label.to_string(), v)
}

#[test]
fn required_verdicts_use_the_published_errors_or_the_noise_floor() {
    let rows = |ours_cov: f64| {
        vec![
            row("our k-pairwise", ours_cov, 0.004),
            row("published k-pairwise", 0.15, 0.005),
            row(NOISE_FLOOR, 0.18, 0.008),
            row("our spatial DG", 0.25, 0.2),
            row("published DG", 0.15, 0.0066),
            row("Spike-GAN", 5.0, 0.2),
            row("our independent", 3.9, 0.7),
            row("our spatio-temporal DG", 0.25, 0.2),
        ]
    };
    let find = |v: &[Verdict], prefix: &str, key: &str| {
        v.iter()
            .find(|x| x.claim.starts_with(prefix) && x.claim.ends_with(key))
            .map(|x| (x.holds, x.required))
            .unwrap()
    };
    // 0.20: beyond 1.2 x 0.15 and the floor 0.18, within 1.5 x 0.15.
    let v = fig3_verdicts(&rows(0.20));
    assert_eq!(find(&v, "our k-pairwise is within 1.5x", "covariance"), (true, true));
    assert_eq!(find(&v, "goal: within 1.2x", "covariance"), (false, false));
    // 0.17: under the noise floor, so the goal holds too.
    assert_eq!(
        find(&fig3_verdicts(&rows(0.17)), "goal: within 1.2x", "covariance"),
        (true, false)
    );
    // 0.3: beyond both: the required check fails.
    assert_eq!(
        find(
            &fig3_verdicts(&rows(0.3)),
            "our k-pairwise is within 1.5x",
            "covariance"
        ),
        (false, true)
    );
    // Our spatial DG: 0.25 is beyond 1.5 x 0.15 and the floor; 0.2 is within.
    assert_eq!(find(&v, "our spatial DG is within 1.5x", "covariance"), (false, true));
    let mut dg_rows = rows(0.2);
    dg_rows[3] = row("our spatial DG", 0.2, 0.2);
    let v = fig3_verdicts(&dg_rows);
    assert_eq!(find(&v, "our spatial DG is within 1.5x", "covariance"), (true, true));
    assert_eq!(find(&v, "our spatial DG is within 1.5x", "mean"), (true, true));
    // The spatio-temporal DG against the spatial one (both 1.0 in `row`), then better.
    assert_eq!(
        find(&v, "our spatio-temporal DG beats", "autocorrelogram"),
        (false, true)
    );
    let mut st_rows = rows(0.2);
    st_rows[7].1["autocorrelogram"] = json!(0.2);
    st_rows[7].1["lag_covariance"] = json!(0.5);
    st_rows[4].1["autocorrelogram"] = json!(0.1);
    let v = fig3_verdicts(&st_rows);
    assert_eq!(
        find(&v, "our spatio-temporal DG beats", "autocorrelogram"),
        (true, true)
    );
    // Goals: 0.2 > 1.2 x 0.1 (published autocorrelogram); 0.5 <= 1.2 x 1.0.
    assert_eq!(
        find(&v, "goal: our spatio-temporal DG within 1.2x", "autocorrelogram"),
        (false, false)
    );
    assert_eq!(
        find(&v, "goal: our spatio-temporal DG within 1.2x", "lag_covariance"),
        (true, false)
    );
    // A missing row is never a pass.
    let v = fig3_verdicts(&rows(0.2)[1..]);
    assert_eq!(
        find(&v, "our k-pairwise is within 1.5x", "k_probabilities"),
        (false, true)
    );
}

#[test]
fn step_keys_ignore_resume_and_do_not_collide() {
    let runner = Runner {
        binary: PathBuf::new(),
        force: false,
        timings: Vec::new(),
        ran: Default::default(),
    };
    let args = strings(&["train", "--out", "x"]);
    let mut resumed = args.clone();
    resumed.push("--resume".into());
    assert_eq!(runner.key(&args, &[]), runner.key(&resumed, &[]));
    assert_ne!(
        runner.key(&args, &[]),
        runner.key(&strings(&["train", "--out", "y"]), &[])
    );
    assert_ne!(stamp_path(Path::new("d/m.json")), stamp_path(Path::new("d/m.h5")));
}

#[test]
fn unknown_and_incomplete_arguments_are_errors() {
    let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let e = options(&args(&["--quik"])).err().unwrap().to_string();
    assert!(e.contains("unknown argument '--quik'") && e.contains("usage"), "{e}");
    assert!(options(&args(&["--gan-minutes"])).is_err());
    assert!(
        options(&args(&["--only", "fig9"]))
            .err()
            .unwrap()
            .to_string()
            .contains("no experiment 'fig9'")
    );
    assert!(options(&args(&["--gan-minutes", "-1"])).is_err());
    assert!(options(&args(&["--backend", "ndarray"])).is_err());
    assert_eq!(options(&args(&[])).unwrap().backend, "flex");
    assert!(options(&args(&["--paper-iterations"])).unwrap().paper_iterations);
    assert!(options(&args(&["--paper-iterations", "--gan-minutes", "3"])).is_err());
    assert_eq!(options(&args(&[])).unwrap().gan_preset, "fast");
    assert_eq!(options(&args(&["--paper-iterations"])).unwrap().gan_preset, "paper");
    assert_eq!(
        options(&args(&["--gan-preset", "moments"])).unwrap().gan_preset,
        "moments"
    );
    let e = options(&args(&["--gan-preset", "best"])).err().unwrap().to_string();
    assert!(e.contains("fast, moments or paper"), "{e}");
    assert!(options(&args(&["--paper-iterations", "--gan-preset", "moments"])).is_err());
    assert!(options(&args(&["--paper-iterations", "--gan-preset", "paper"])).is_ok());
    let o = options(&args(&[
        "--quick",
        "--gan-minutes",
        "1.5",
        "--out",
        "x",
        "--only",
        "s1,s2-s4",
    ]))
    .unwrap();
    assert!(o.quick && !o.force && o.gan_minutes == Some(1.5) && o.out == Path::new("x"));
    assert_eq!(o.only, vec!["s1", "s2-s4"]);
    assert!(o.spikegan.is_none());
    let e = options(&args(&["--spikegan", "/no/such/spikegan"]))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("/no/such/spikegan"), "{e}");
    let this = std::env::current_exe().unwrap();
    let o = options(&args(&["--spikegan", this.to_str().unwrap()])).unwrap();
    assert_eq!(o.spikegan.as_deref(), Some(this.as_path()));
}

#[test]
fn forced_steps_run_once_per_invocation() {
    let dir = std::env::temp_dir().join(format!("xtask-force-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out.json");
    std::fs::write(&out, "{}").unwrap();
    let mut runner = Runner {
        binary: PathBuf::from("true"),
        force: true,
        timings: Vec::new(),
        ran: Default::default(),
    };
    let args = strings(&["stats", "x"]);
    runner.step("first", &args, &[], &[&out]).unwrap();
    runner.step("again", &args, &[], &[&out]).unwrap();
    runner.step("other", &strings(&["stats", "y"]), &[], &[&out]).unwrap();
    let cached: Vec<bool> = runner.timings.iter().map(|t| t.2).collect();
    // --force reran the first step; the same step again (shared by two experiments) is reused.
    assert_eq!(cached, vec![false, true, false]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_report_shows_every_experiment_run_into_the_folder_in_the_papers_order() {
    let out = std::env::temp_dir().join(format!("xtask-report-{}", std::process::id()));
    let section = |id: &'static str, claim: &str| Section {
        id,
        title: format!("title of {id}"),
        text: format!("<p>text of {id}</p>"),
        tables: Vec::new(),
        figures: Vec::new(),
        verdicts: vec![Verdict {
            claim: claim.into(),
            holds: true,
            numbers: "1 < 2".into(),
            required: false,
        }],
        json: Value::Null,
    };
    // Run one at a time, fig3 first, then s1 (as with --only).
    for (id, claim) in [("fig3", "a claim of fig3"), ("s1", "a claim of s1")] {
        std::fs::create_dir_all(out.join(id)).unwrap();
        write_atomically(
            &out.join(id).join("section.html"),
            &section_html(&section(id, claim), 90.0),
        )
        .unwrap();
    }
    let runner = Runner {
        binary: PathBuf::from("spikegan"),
        force: false,
        timings: vec![("s1: a step".into(), 2.0, false)],
        ran: Default::default(),
    };
    let html = report(&out, "full", &runner).unwrap();
    let (s1, fig3) = (html.find("text of s1").unwrap(), html.find("text of fig3").unwrap());
    assert!(s1 < fig3, "the paper's order: S1 before Fig. 3");
    assert!(html.contains("a claim of fig3") && html.contains("wall time 1.5 min"));
    assert!(html.contains("<a href=\"#s1\">s1</a>, <a href=\"#fig3\">fig3</a>"));
    assert!(!html.contains("fig2") && html.contains("s1: a step"));
    std::fs::remove_dir_all(&out).unwrap();
}
