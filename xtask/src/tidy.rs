//! Repository checks that run as a test (`cargo test -p xtask`): layers never point up, every
//! crate is described in docs/architecture.md, and no source file grows past 700 lines.

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::root;

    /// Each crate's rank in the layering; a crate may depend only on crates of lower rank.
    const LAYERS: &[(&str, u32)] = &[
        ("spike-data", 0),
        ("spike-stats", 1),
        ("baselines", 2),
        ("spikegan-model", 2),
        ("spikegan-cli", 3),
    ];

    fn rank(name: &str) -> Option<u32> {
        LAYERS.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
    }

    fn crates() -> Vec<(String, String)> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(root().join("crates")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let manifest = std::fs::read_to_string(path.join("Cargo.toml")).unwrap();
            out.push((name, manifest));
        }
        out
    }

    #[test]
    fn layers_never_point_up() {
        let mut problems = Vec::new();
        for (name, manifest) in crates() {
            let me = rank(&name).unwrap_or_else(|| panic!("crate {name} has no layer in xtask/src/tidy.rs"));
            let deps = manifest
                .split("[dependencies]")
                .nth(1)
                .unwrap_or("")
                .split("\n[")
                .next()
                .unwrap_or("");
            for line in deps.lines() {
                let dep = line.split(['=', '.']).next().unwrap_or("").trim();
                if let Some(r) = rank(dep)
                    && r >= me
                {
                    problems.push(format!("{name} (layer {me}) depends on {dep} (layer {r})"));
                }
            }
        }
        // spike-stats may use spike-data only; spikegan-model may not use spike-stats or baselines.
        assert!(problems.is_empty(), "layering violations:\n{}", problems.join("\n"));
    }

    #[test]
    fn only_the_model_crate_uses_burn_and_xtask_never_links_hdf5() {
        for (name, manifest) in crates() {
            if name != "spikegan-model" && name != "spikegan-cli" {
                assert!(!manifest.contains("burn"), "{name} must not depend on burn");
            }
        }
        let xtask = std::fs::read_to_string(root().join("xtask/Cargo.toml")).unwrap();
        for banned in ["hdf5", "spike-data", "spikegan"] {
            let deps = xtask.split("[dependencies]").nth(1).unwrap_or("");
            assert!(!deps.contains(banned), "xtask must not depend on {banned}");
        }
    }

    #[test]
    fn architecture_doc_names_every_crate() {
        let doc = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
        for (name, _) in crates() {
            assert!(
                doc.contains(&format!("crates/{name}")),
                "docs/architecture.md does not describe crates/{name}"
            );
        }
    }

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }

    #[test]
    fn source_files_stay_small() {
        let mut files = Vec::new();
        for d in ["crates", "xtask", "tests"] {
            rust_files(&root().join(d), &mut files);
        }
        let long: Vec<String> = files
            .iter()
            .filter_map(|f| {
                let n = std::fs::read_to_string(f).unwrap().lines().count();
                (n > 700).then(|| format!("{} ({n} lines)", f.display()))
            })
            .collect();
        assert!(long.is_empty(), "split these files: {long:?}");
    }

    #[test]
    fn ci_script_runs_the_readme_test_command() {
        let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
        let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
        assert!(readme.contains("cargo xtask ci"), "README must give the test command");
        assert!(
            ci.lines().any(|l| l.trim() == "cargo xtask ci"),
            ".ci/run must run `cargo xtask ci`"
        );
    }
}
