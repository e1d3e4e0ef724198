//! The data set registry (`datasets/registry.toml`): where users download known data sets and the
//! sha256 of each file; finding the data folder; verifying and fetching files.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{DataError, Result};

/// One file of a registered data set.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct RegistryFile {
    /// File name inside `<data dir>/<dataset>/`.
    pub file: String,
    /// MAT variable holding the matrix.
    pub key: String,
    /// What the file is (recording, model samples, ...).
    pub role: String,
    /// Matrix shape, bins x neurons.
    pub shape: [usize; 2],
    /// Public download URL.
    pub url: String,
    /// Expected sha256, lowercase hex.
    pub sha256: String,
}

/// A registered data set.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct RegistryDataset {
    /// Short name used on the command line.
    pub name: String,
    /// One-paragraph description.
    pub description: String,
    /// Whom to cite.
    pub citation: String,
    /// Bin width of its matrices in milliseconds.
    pub bin_width_ms: f64,
    /// Its files.
    pub files: Vec<RegistryFile>,
}

/// All registered data sets.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Registry {
    /// The data sets, in file order.
    #[serde(rename = "dataset")]
    pub datasets: Vec<RegistryDataset>,
}

/// Environment variable naming the data folder.
pub const DATA_DIR_ENV: &str = "SPIKEGAN_DATA";

impl Registry {
    /// The registry compiled into this build.
    pub fn builtin() -> Self {
        toml::from_str(include_str!("../../../datasets/registry.toml"))
            .expect("datasets/registry.toml is valid (tested)")
    }

    /// The data set called `name`; the error lists the known names.
    pub fn dataset(&self, name: &str) -> Result<&RegistryDataset> {
        self.datasets.iter().find(|d| d.name == name).ok_or_else(|| {
            let known: Vec<&str> = self.datasets.iter().map(|d| d.name.as_str()).collect();
            DataError::Registry(format!("unknown data set '{name}' (known: {})", known.join(", ")))
        })
    }

    /// The registered file with this sha256, with its data set.
    pub fn find_by_sha256(&self, sha256: &str) -> Option<(&RegistryDataset, &RegistryFile)> {
        self.datasets
            .iter()
            .find_map(|d| d.files.iter().find(|f| f.sha256 == sha256).map(|f| (d, f)))
    }
}

/// The data folder: `explicit`, else `$SPIKEGAN_DATA`, else `<user data dir>/spikegan/datasets`.
pub fn data_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os(DATA_DIR_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("spikegan")
        .join("datasets")
}

/// sha256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| DataError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// Outcome of checking one registered file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileStatus {
    /// Present with the recorded sha256.
    Ok,
    /// Not in the data folder.
    Missing,
    /// Present with a different sha256 (corrupt or a different file).
    Mismatch {
        /// The sha256 found.
        found: String,
    },
}

/// Check every file of `datasets` (all when empty) under `dir/<dataset>/<file>`.
pub fn verify(registry: &Registry, dir: &Path, datasets: &[String]) -> Result<Vec<(String, PathBuf, FileStatus)>> {
    let mut out = Vec::new();
    for d in &registry.datasets {
        if !datasets.is_empty() && !datasets.contains(&d.name) {
            continue;
        }
        for f in &d.files {
            let path = dir.join(&d.name).join(&f.file);
            let status = if !path.exists() {
                FileStatus::Missing
            } else {
                let found = sha256_file(&path)?;
                if found == f.sha256 {
                    FileStatus::Ok
                } else {
                    FileStatus::Mismatch { found }
                }
            };
            out.push((d.name.clone(), path, status));
        }
    }
    for name in datasets {
        registry.dataset(name)?;
    }
    Ok(out)
}

/// Path of a registered file in the data folder, or an error saying how to get it.
pub fn locate(registry: &Registry, dir: &Path, dataset: &str, file: &str) -> Result<PathBuf> {
    let d = registry.dataset(dataset)?;
    if !d.files.iter().any(|f| f.file == file) {
        return Err(DataError::Registry(format!(
            "data set '{dataset}' has no file '{file}'"
        )));
    }
    let path = dir.join(dataset).join(file);
    if path.exists() {
        Ok(path)
    } else {
        Err(DataError::Registry(format!(
            "{} is missing: run `spikegan data fetch {dataset} --dir {}` (or set {DATA_DIR_ENV})",
            path.display(),
            dir.display()
        )))
    }
}

/// Download every file of a data set into `dir/<dataset>/`, verifying each sha256 before it is
/// moved into place. `progress(file, bytes_done, bytes_total)` is called as data arrives.
#[cfg(feature = "fetch")]
pub fn fetch(
    registry: &Registry,
    dir: &Path,
    dataset: &str,
    mut progress: impl FnMut(&str, u64, Option<u64>),
) -> Result<Vec<PathBuf>> {
    use std::io::Write;
    let d = registry.dataset(dataset)?;
    let mut done = Vec::new();
    for f in &d.files {
        let path = dir.join(&d.name).join(&f.file);
        if path.exists() && sha256_file(&path)? == f.sha256 {
            tracing::info!(file = %path.display(), "already present and verified");
            done.push(path);
            continue;
        }
        let response = ureq::get(&f.url)
            .call()
            .map_err(|e| DataError::Registry(format!("{}: download failed: {e}", f.url)))?;
        let total = response.body().content_length();
        let mut reader = response.into_body().into_reader();
        let mut hasher = Sha256::new();
        crate::io::write_atomically(&path, |tmp| {
            let mut out = std::fs::File::create(tmp).map_err(|e| DataError::io(tmp, e))?;
            let mut buf = vec![0u8; 1 << 16];
            let mut got = 0u64;
            loop {
                let n = reader
                    .read(&mut buf)
                    .map_err(|e| DataError::Registry(format!("{}: download interrupted: {e}", f.url)))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                out.write_all(&buf[..n]).map_err(|e| DataError::io(tmp, e))?;
                got += n as u64;
                progress(&f.file, got, total);
            }
            let found = format!("{:x}", hasher.clone().finalize());
            if found != f.sha256 {
                return Err(DataError::Registry(format!(
                    "{}: sha256 {found} does not match the registry's {}; file not saved",
                    f.url, f.sha256
                )));
            }
            out.sync_all().map_err(|e| DataError::io(tmp, e))
        })?;
        done.push(path);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_registry_parses_and_is_consistent() {
        let r = Registry::builtin();
        assert_eq!(r.datasets.len(), 2);
        let retina = r.dataset("retina50").unwrap();
        assert_eq!(retina.bin_width_ms, 20.0);
        assert_eq!(retina.files[0].shape, [283041, 50]);
        for d in &r.datasets {
            for f in &d.files {
                assert_eq!(f.sha256.len(), 64);
                assert!(f.url.starts_with("https://") && f.url.ends_with(&f.file.replace(' ', "%20")));
            }
        }
        assert!(
            r.dataset("nope")
                .unwrap_err()
                .to_string()
                .contains("known: retina50, negcorr16")
        );
        let sha = &retina.files[1].sha256;
        assert_eq!(r.find_by_sha256(sha).unwrap().1.key, "samples_batch_all");
    }

    #[test]
    fn verify_flags_missing_and_corrupt_files() {
        let dir = tempfile::tempdir().unwrap();
        let r = Registry::builtin();
        std::fs::create_dir_all(dir.path().join("negcorr16")).unwrap();
        std::fs::write(dir.path().join("negcorr16/DG_num_neurons_16_1.mat"), b"not the data").unwrap();
        let out = verify(&r, dir.path(), &["negcorr16".into()]).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].2, FileStatus::Missing);
        assert!(matches!(&out[1].2, FileStatus::Mismatch { found } if found.len() == 64));
        assert!(
            locate(&r, dir.path(), "negcorr16", "k_pairwise_num_neurons_16_1.mat")
                .unwrap_err()
                .to_string()
                .contains("spikegan data fetch negcorr16")
        );
    }
}
