//! Blobs on disk, durable and never half-written: what a PUT acknowledged survives `kill -9`.
//!
//! Layout under `{dir}/objects/`, for a key `uploads/m1`:
//! - `uploads/m1~meta`: the sidecar (JSON: content type, size, SHA-256, MD5, last modified, and
//!   which data file holds the bytes). Renaming a new sidecar into place is the commit point.
//! - `uploads/m1~{generation}`: the bytes of one version, a fresh name for every write.
//! - `uploads/m1~tmp-{random}`: a sidecar being written.
//!
//! A write streams the bytes into a new generation file, syncs it, writes the sidecar to a
//! temporary file, syncs it, renames it over the old sidecar and syncs the directory; only
//! then is the old generation deleted. A crash at any point leaves the old sidecar and bytes,
//! or the new ones, never a mix (at worst an unreferenced generation file). `~` cannot occur
//! in a key, so none of these names is another key's, and a key `a` never needs a file called
//! `a`, so `a` and `a/b` can both exist, as in S3.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chat_domain::Millis;
use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWriteExt, BufWriter};

use super::keys::ObjectKey;

/// The sidecar's suffix.
const META: &str = "~meta";

/// What the sidecar of a blob says about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Meta {
    pub(crate) content_type: String,
    pub(crate) size: u64,
    /// Lowercase hex.
    pub(crate) sha256: String,
    /// Lowercase hex: S3's ETag of a single-part upload.
    pub(crate) md5: String,
    pub(crate) last_modified_ms: i64,
    /// The generation file holding the bytes.
    generation: String,
}

impl Meta {
    /// The ETag header value (quoted, as S3 sends it).
    pub(crate) fn etag(&self) -> String {
        format!("\"{}\"", self.md5)
    }
}

/// The length and digests of bytes written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Digests {
    pub(crate) size: u64,
    pub(crate) sha256: [u8; 32],
    pub(crate) md5: [u8; 16],
}

/// The objects directory.
#[derive(Debug, Clone)]
pub(crate) struct Objects {
    root: PathBuf,
    /// Serializes commits and deletes, so that the generation a commit deletes is always one
    /// no sidecar points at any more.
    commits: Arc<Mutex<()>>,
}

impl Objects {
    /// Opens (creating) `root`.
    pub(crate) fn open(root: PathBuf) -> io::Result<Objects> {
        if !root.is_dir() {
            std::fs::create_dir_all(&root)?;
            if let Some(parent) = root.parent() {
                sync_dir(parent)?;
            }
        }
        Ok(Objects {
            root,
            commits: Arc::new(Mutex::new(())),
        })
    }

    fn path(&self, key: &ObjectKey, suffix: &str) -> PathBuf {
        self.root.join(format!("{key}{suffix}"))
    }

    /// Starts writing a new version of `key` (invisible until [`Objects::commit`]).
    pub(crate) async fn draft(&self, key: &ObjectKey) -> io::Result<Draft> {
        let generation = uuid::Uuid::new_v4().simple().to_string();
        let path = self.path(key, &format!("~{generation}"));
        let root = self.root.clone();
        let parent = path.parent().map(Path::to_path_buf).unwrap_or(root.clone());
        blocking(move || make_dirs(&root, &parent)).await?;
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        Ok(Draft {
            key: key.clone(),
            generation,
            path: Some(path),
            file: Some(BufWriter::with_capacity(256 * 1024, file)),
            sha256: Sha256::new(),
            md5: Md5::new(),
            size: 0,
            finished: None,
        })
    }

    /// Makes a finished draft the blob's content: after this returns, it survives a crash.
    pub(crate) async fn commit(
        &self,
        mut draft: Draft,
        content_type: &str,
        now: Millis,
    ) -> io::Result<Meta> {
        let digests = draft
            .finished
            .ok_or_else(|| io::Error::other("commit of an unfinished draft"))?;
        let meta = Meta {
            content_type: content_type.to_string(),
            size: digests.size,
            sha256: hex::encode(digests.sha256),
            md5: hex::encode(digests.md5),
            last_modified_ms: now.as_i64(),
            generation: draft.generation.clone(),
        };
        let sidecar = self.path(&draft.key, META);
        let committed = {
            let this = self.clone();
            let key = draft.key.clone();
            let meta = meta.clone();
            blocking(move || {
                let _guard = this.commits.lock().unwrap_or_else(|e| e.into_inner());
                let old = read_meta(&sidecar)?;
                if let Err(err) = write_atomically(&sidecar, &serde_json::to_vec(&meta)?) {
                    // The rename may have happened before the failure (a failed directory
                    // sync): then the draft's file is referenced and must stay.
                    let renamed = read_meta(&sidecar)
                        .ok()
                        .flatten()
                        .is_some_and(|now| now.generation == meta.generation);
                    return Ok(Err((err, renamed)));
                }
                Ok(Ok(old.filter(|old| old.generation != meta.generation).map(
                    |old| this.path(&key, &format!("~{}", old.generation)),
                )))
            })
            .await?
        };
        match committed {
            Ok(old_data) => {
                // Committed: the draft's file is the blob now.
                draft.path = None;
                if let Some(old) = old_data {
                    remove_if_present(&old)?;
                }
                Ok(meta)
            }
            Err((err, renamed)) => {
                if renamed {
                    draft.path = None;
                }
                Err(err)
            }
        }
    }

    /// The sidecar of `key`, or `None` when there is no such blob.
    pub(crate) async fn meta(&self, key: &ObjectKey) -> io::Result<Option<Meta>> {
        let sidecar = self.path(key, META);
        blocking(move || read_meta(&sidecar)).await
    }

    /// The sidecar of `key` and its bytes, opened (a later overwrite does not change what this
    /// reads), or `None` when there is no such blob.
    pub(crate) async fn open_data(
        &self,
        key: &ObjectKey,
    ) -> io::Result<Option<(Meta, std::fs::File)>> {
        let this = self.clone();
        let key = key.clone();
        blocking(move || {
            // A commit may replace the generation between reading the sidecar and opening its
            // file: read the sidecar again then.
            for _ in 0..3 {
                let Some(meta) = read_meta(&this.path(&key, META))? else {
                    return Ok(None);
                };
                match std::fs::File::open(this.path(&key, &format!("~{}", meta.generation))) {
                    Ok(file) => return Ok(Some((meta, file))),
                    Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                    Err(err) => return Err(err),
                }
            }
            Err(io::Error::other(format!(
                "{key}: the sidecar names a data file that does not exist"
            )))
        })
        .await
    }

    /// The length and SHA-256 of `key`'s bytes, read through (memory stays small).
    pub(crate) async fn digest(&self, key: &ObjectKey) -> io::Result<Option<(u64, [u8; 32])>> {
        let Some((_, mut file)) = self.open_data(key).await? else {
            return Ok(None);
        };
        blocking(move || {
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 64 * 1024];
            let mut size = 0u64;
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                size += n as u64;
            }
            Ok(Some((size, hasher.finalize().into())))
        })
        .await
    }

    /// Deletes `key` (the sidecar first: that is the commit point); a missing key is fine.
    pub(crate) async fn delete(&self, key: &ObjectKey) -> io::Result<()> {
        let this = self.clone();
        let key = key.clone();
        blocking(move || {
            let _guard = this.commits.lock().unwrap_or_else(|e| e.into_inner());
            let sidecar = this.path(&key, META);
            let Some(meta) = read_meta(&sidecar)? else {
                return Ok(());
            };
            std::fs::remove_file(&sidecar)?;
            if let Some(dir) = sidecar.parent() {
                sync_dir(dir)?;
            }
            remove_if_present(&this.path(&key, &format!("~{}", meta.generation)))
        })
        .await
    }
}

/// A version of a blob being written. Dropped before its commit, it deletes its file.
#[derive(Debug)]
pub(crate) struct Draft {
    key: ObjectKey,
    generation: String,
    /// The file, until the commit makes it the blob's.
    path: Option<PathBuf>,
    file: Option<BufWriter<tokio::fs::File>>,
    sha256: Sha256,
    md5: Md5,
    size: u64,
    finished: Option<Digests>,
}

impl Draft {
    /// Bytes written so far.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    pub(crate) async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("write after finish"))?;
        self.sha256.update(bytes);
        self.md5.update(bytes);
        self.size += bytes.len() as u64;
        file.write_all(bytes).await
    }

    /// Flushes and syncs the bytes; answers their length and digests.
    pub(crate) async fn finish(&mut self) -> io::Result<Digests> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("finished twice"))?;
        file.flush().await?;
        file.into_inner().sync_all().await?;
        let digests = Digests {
            size: self.size,
            sha256: std::mem::take(&mut self.sha256).finalize().into(),
            md5: std::mem::take(&mut self.md5).finalize().into(),
        };
        self.finished = Some(digests);
        Ok(digests)
    }
}

impl Drop for Draft {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            // Never committed: nothing points at this file.
            let _ = std::fs::remove_file(path);
        }
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(io::Error::other)?
}

fn read_meta(path: &Path) -> io::Result<Option<Meta>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// Writes `bytes` to `path` through a synced temporary file and a rename, then syncs the
/// directory.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("a blob path has no directory"))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("blob");
    let tmp = dir.join(format!(
        "{}~tmp-{}",
        name.split('~').next().unwrap_or(name),
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| {
        let mut file = std::fs::File::create_new(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Creates `dir` and its missing parents below `root`, syncing each directory that gained an
/// entry.
fn make_dirs(root: &Path, dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    let mut at = dir.parent();
    while let Some(parent) = at {
        sync_dir(parent)?;
        if parent == root || !parent.starts_with(root) {
            break;
        }
        at = parent.parent();
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(raw: &str) -> ObjectKey {
        ObjectKey::parse(raw).expect("key")
    }

    async fn put(objects: &Objects, raw: &str, bytes: &[u8]) -> Meta {
        let mut draft = objects.draft(&key(raw)).await.expect("draft");
        draft.write(bytes).await.expect("write");
        draft.finish().await.expect("finish");
        objects
            .commit(draft, "text/plain", Millis(1))
            .await
            .expect("commit")
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn an_overwrite_leaves_one_sidecar_and_one_data_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let objects = Objects::open(dir.path().join("objects")).expect("open");
        put(&objects, "uploads/a", b"one").await;
        let meta = put(&objects, "uploads/a", b"second").await;
        assert_eq!(meta.size, 6);
        let names = files(&dir.path().join("objects/uploads"));
        assert_eq!(
            names,
            vec![format!("a~{}", meta.generation), "a~meta".to_string()]
        );
        let (_, mut file) = objects
            .open_data(&key("uploads/a"))
            .await
            .expect("open")
            .expect("present");
        let mut text = String::new();
        file.read_to_string(&mut text).expect("read");
        assert_eq!(text, "second");
    }

    #[tokio::test]
    async fn a_dropped_draft_leaves_nothing_and_a_key_and_its_children_coexist() {
        let dir = tempfile::tempdir().expect("tempdir");
        let objects = Objects::open(dir.path().join("objects")).expect("open");
        let mut draft = objects.draft(&key("uploads/b")).await.expect("draft");
        draft.write(b"partial").await.expect("write");
        drop(draft);
        assert!(files(&dir.path().join("objects/uploads")).is_empty());
        assert_eq!(objects.meta(&key("uploads/b")).await.expect("meta"), None);

        put(&objects, "a", b"parent").await;
        put(&objects, "a/b", b"child").await;
        assert_eq!(
            objects.digest(&key("a")).await.expect("digest"),
            Some((6, Sha256::digest(b"parent").into()))
        );
        objects.delete(&key("a")).await.expect("delete");
        objects.delete(&key("a")).await.expect("delete again");
        assert_eq!(objects.meta(&key("a")).await.expect("meta"), None);
        assert!(objects.meta(&key("a/b")).await.expect("meta").is_some());
    }
}
